#include "dmap/tags.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "atv/error.hpp"

namespace atv::dmap {

namespace {

constexpr std::size_t header_size = 8;

// The tags atvd reads or writes, and those seen next to them in replies. A tag missing here
// decodes as raw, which is always safe: its value is kept, never interpreted.
constexpr std::array<std::pair<std::string_view, TagType>, 49> known_tags{{
    {"abro", TagType::container},                           // browse reply
    {"aply", TagType::container},                           // playlists
    {"apso", TagType::container},                           // playlist songs
    {"avdb", TagType::container},                           // databases
    {"caar", TagType::uint},                                // available repeat states
    {"caas", TagType::uint},                                // available shuffle states
    {"caia", TagType::boolean},                             // is active
    {"cana", TagType::string},                              // now playing artist
    {"canl", TagType::string},                              // now playing album
    {"cann", TagType::string},                              // now playing title
    {"canp", TagType::raw},                                 // now playing ids
    {"cang", TagType::string},                              // now playing genre
    {"cant", TagType::uint},                                // remaining time (ms)
    {"caps", TagType::uint},                                // play state
    {"carp", TagType::uint},                                // repeat state
    {"cash", TagType::uint},                                // shuffle state
    {"cast", TagType::uint},                                // total time (ms)
    {"casu", TagType::uint},                                // speakers update
    {"cavc", TagType::boolean},                             // volume controllable
    {"cavs", TagType::uint},                                // visualizer
    {"cmbe", TagType::string},                              // control prompt entry
    {"cmcc", TagType::uint},                                // control prompt kind
    {"cmcp", TagType::container},                           // control prompt reply
    {"cmgt", TagType::container},                           // get property reply
    {"cmik", TagType::uint},      {"cmmk", TagType::uint},  // media kind
    {"cmnm", TagType::string},                              // device name (pairing)
    {"cmpa", TagType::container},                           // pairing reply
    {"cmpg", TagType::uint},                                // pairing guid
    {"cmsr", TagType::uint},                                // status revision
    {"cmst", TagType::container},                           // play status
    {"cmty", TagType::string},                              // device type (pairing)
    {"cmvo", TagType::uint},                                // volume
    {"mccr", TagType::container},                           // content codes reply
    {"mdcl", TagType::container},                           // dictionary
    {"miid", TagType::uint},                                // item id
    {"mikd", TagType::uint},                                // item kind
    {"minm", TagType::string},                              // item name
    {"mlcl", TagType::container},                           // listing
    {"mlid", TagType::uint},                                // session id
    {"mlit", TagType::container},                           // listing item
    {"mlog", TagType::container},                           // login reply
    {"mper", TagType::uint},                                // persistent id
    {"mrco", TagType::uint},                                // returned count
    {"msrv", TagType::container},                           // server info
    {"mstt", TagType::uint},                                // status
    {"mtco", TagType::uint},                                // total count
    {"mupd", TagType::container},                           // update reply
    {"musr", TagType::uint},                                // server revision
}};

[[noreturn]] void malformed(const std::string& what) {
    throw Error(ErrorKind::connection_failed, "malformed DMAP data: " + what);
}

void check_name(std::string_view tag) {
    if (tag.size() != 4) {
        throw Error(ErrorKind::invalid_arguments, "a DMAP tag has 4 characters");
    }
}

bool printable(std::uint8_t c) {
    return c >= 0x20 && c < 0x7F;
}

Bytes header(std::string_view tag, std::size_t length) {
    check_name(tag);
    if (length > 0xFFFFFFFFu) {
        throw Error(ErrorKind::invalid_arguments, "a DMAP value is too long");
    }
    Bytes out(tag.begin(), tag.end());
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(length >> shift));
    }
    return out;
}

class Decoder {
  public:
    Decoder(ByteView data, const DecodeLimits& limits) : data_(data), limits_(limits) {}

    std::vector<Tag> tags(std::size_t begin, std::size_t end, std::size_t depth) {
        if (depth > limits_.max_depth) {
            malformed("containers nest deeper than " + std::to_string(limits_.max_depth));
        }
        std::vector<Tag> out;
        std::size_t at = begin;
        while (at < end) {
            if (end - at < header_size) {
                malformed("a tag header is truncated");
            }
            out.emplace_back();
            at += header_size + one(at, end, depth, out.back());
        }
        return out;
    }

  private:
    // Decodes the tag at `at` into `tag`; returns the length of its value.
    std::size_t one(std::size_t at, std::size_t end, std::size_t depth, Tag& tag) {
        if (++count_ > limits_.max_tags) {
            malformed("more than " + std::to_string(limits_.max_tags) + " tags");
        }
        for (std::size_t i = 0; i < 4; ++i) {
            if (!printable(data_[at + i])) {
                malformed("a tag name is not printable ASCII");
            }
            tag.name.push_back(static_cast<char>(data_[at + i]));
        }
        std::size_t length = 0;
        for (std::size_t i = 4; i < header_size; ++i) {
            length = (length << 8) | data_[at + i];
        }
        const std::size_t start = at + header_size;
        if (length > end - start) {
            malformed("tag " + tag.name + " claims " + std::to_string(length) + " bytes but only " +
                      std::to_string(end - start) + " are left");
        }
        tag.type = tag_type(tag.name);
        if (tag.type == TagType::container) {
            tag.children = tags(start, start + length, depth + 1);
            return length;
        }
        check_width(tag, length);
        tag.value.assign(data_.begin() + static_cast<std::ptrdiff_t>(start),
                         data_.begin() + static_cast<std::ptrdiff_t>(start + length));
        return length;
    }

    static void check_width(const Tag& tag, std::size_t length) {
        if (tag.type == TagType::uint && length != 1 && length != 2 && length != 4 && length != 8) {
            malformed("integer tag " + tag.name + " has " + std::to_string(length) + " bytes");
        }
        if (tag.type == TagType::boolean && length != 1) {
            malformed("bool tag " + tag.name + " has " + std::to_string(length) + " bytes");
        }
    }

    ByteView data_;
    const DecodeLimits& limits_;
    std::size_t count_ = 0;
};

void expect_type(const Tag& tag, TagType type, const char* what) {
    if (tag.type != type) {
        malformed("tag " + tag.name + " is not " + what);
    }
}

}  // namespace

TagType tag_type(std::string_view tag) {
    const auto found = std::find_if(known_tags.begin(), known_tags.end(),
                                    [tag](const auto& entry) { return entry.first == tag; });
    return found == known_tags.end() ? TagType::raw : found->second;
}

const Tag* Tag::find(std::string_view child) const {
    const auto found = std::find_if(children.begin(), children.end(),
                                    [child](const Tag& tag) { return tag.name == child; });
    return found == children.end() ? nullptr : &*found;
}

std::uint64_t Tag::as_uint() const {
    expect_type(*this, TagType::uint, "an integer");
    std::uint64_t result = 0;
    for (std::uint8_t byte : value) {
        result = (result << 8) | byte;
    }
    return result;
}

bool Tag::as_bool() const {
    expect_type(*this, TagType::boolean, "a bool");
    return value.at(0) != 0;
}

std::string Tag::as_string() const {
    expect_type(*this, TagType::string, "a string");
    return atv::to_string(value);
}

std::vector<Tag> decode(ByteView data, const DecodeLimits& limits) {
    if (data.size() > limits.max_input) {
        malformed("more than " + std::to_string(limits.max_input) + " bytes");
    }
    Decoder decoder(data, limits);
    return decoder.tags(0, data.size(), 0);
}

Tag decode_one(ByteView data, std::string_view expected, const DecodeLimits& limits) {
    std::vector<Tag> tags = decode(data, limits);
    if (tags.size() != 1 || tags.front().name != expected) {
        malformed("expected one " + std::string(expected) + " tag");
    }
    return std::move(tags.front());
}

Bytes encode_uint(std::string_view tag, std::uint64_t value, std::size_t width) {
    if (width != 1 && width != 2 && width != 4 && width != 8) {
        throw Error(ErrorKind::invalid_arguments, "a DMAP integer has 1, 2, 4 or 8 bytes");
    }
    Bytes out = header(tag, width);
    for (std::size_t i = width; i-- > 0;) {
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
    return out;
}

Bytes encode_bool(std::string_view tag, bool value) {
    Bytes out = header(tag, 1);
    out.push_back(value ? 1 : 0);
    return out;
}

Bytes encode_string(std::string_view tag, std::string_view value) {
    Bytes out = header(tag, value.size());
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

Bytes encode_raw(std::string_view tag, ByteView value) {
    Bytes out = header(tag, value.size());
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

Bytes encode_container(std::string_view tag, const std::vector<Bytes>& children) {
    std::size_t length = 0;
    for (const Bytes& child : children) {
        length += child.size();
    }
    Bytes out = header(tag, length);
    for (const Bytes& child : children) {
        out.insert(out.end(), child.begin(), child.end());
    }
    return out;
}

Bytes encode(const Tag& tag) {
    if (tag.type != TagType::container) {
        return encode_raw(tag.name, tag.value);
    }
    std::vector<Bytes> children;
    children.reserve(tag.children.size());
    for (const Tag& child : tag.children) {
        children.push_back(encode(child));
    }
    return encode_container(tag.name, children);
}

}  // namespace atv::dmap
