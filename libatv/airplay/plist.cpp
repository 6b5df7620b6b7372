#include "airplay/plist.hpp"

#include <plist/plist.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>

#include "atv/error.hpp"

namespace atv::airplay {

namespace {

constexpr std::string_view magic = "bplist00";
constexpr std::size_t trailer_size = 32;

struct PlistFree {
    void operator()(plist_t node) const { plist_free(node); }
};
using PlistNode = std::unique_ptr<void, PlistFree>;

struct MallocFree {
    void operator()(void* memory) const { std::free(memory); }  // NOLINT: libplist allocates
};

[[noreturn]] void malformed(const std::string& what) {
    throw Error(ErrorKind::connection_failed, "malformed property list from the peer: " + what);
}

std::uint64_t read_be64(ByteView bytes) {
    std::uint64_t value = 0;
    for (const std::uint8_t byte : bytes.first(8))
        value = (value << 8) | byte;
    return value;
}

std::uint64_t read_be(ByteView bytes, std::size_t offset, std::size_t size) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i)
        value = (value << 8) | bytes[offset + i];
    return value;
}

// The length of the object at `offset` whose marker's low nibble is `nibble`, and where its
// contents begin; a nibble of 15 means an integer object follows with the length.
std::pair<std::uint64_t, std::size_t> object_length(ByteView bytes, std::size_t offset,
                                                    std::uint8_t nibble) {
    if (nibble != 0x0f) {
        return {nibble, offset + 1};
    }
    if (offset + 2 > bytes.size() || (bytes[offset + 1] & 0xf0) != 0x10) {
        malformed("a string length that is not an integer");
    }
    const std::size_t size = std::size_t{1} << (bytes[offset + 1] & 0x0f);
    if (size > 8 || offset + 2 + size > bytes.size()) {
        malformed("a string length out of bounds");
    }
    return {read_be(bytes, offset + 2, size), offset + 2 + size};
}

// libplist 2.2 aborts (an assertion) on a string or key with a NUL inside, and would turn an
// "ASCII" string holding other bytes into something else when written again: refuse both.
void check_strings(ByteView bytes, ByteView trailer) {
    const std::size_t offset_size = trailer[6];
    const std::uint64_t count = read_be64(trailer.subspan(8));
    const std::uint64_t table = read_be64(trailer.subspan(24));
    if (offset_size == 0 || offset_size > 8 || table > bytes.size() ||
        count > (bytes.size() - table) / offset_size) {
        malformed("an offset table out of bounds");
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t offset = read_be(bytes, table + i * offset_size, offset_size);
        if (offset >= bytes.size()) {
            malformed("an object offset out of bounds");
        }
        const std::uint8_t marker = bytes[offset];
        const std::size_t unit = (marker >> 4) == 0x5 ? 1 : (marker >> 4) == 0x6 ? 2 : 0;
        if (unit == 0) {
            continue;
        }
        const auto [length, begin] = object_length(bytes, offset, marker & 0x0f);
        if (length > (bytes.size() - begin) / unit) {
            malformed("a string out of bounds");
        }
        for (std::size_t at = begin; at < begin + length * unit; at += unit) {
            if (bytes[at] == 0 && (unit == 1 || bytes[at + 1] == 0)) {
                malformed("a string with a NUL character in it");
            }
            if (unit == 1 && bytes[at] >= 0x80) {
                malformed("an ASCII string with a byte that is not ASCII");
            }
        }
    }
}

// libplist recurses once per nesting level and allocates per object: bound both before it
// sees the bytes, from the object count in the trailer.
void check_shape(ByteView bytes, const PlistLimits& limits) {
    if (bytes.size() > limits.max_input) {
        malformed(std::to_string(bytes.size()) + " bytes is over the limit of " +
                  std::to_string(limits.max_input));
    }
    if (bytes.size() < magic.size() + 1 + trailer_size ||
        std::string_view(reinterpret_cast<const char*>(bytes.data()), magic.size()) != magic) {
        malformed("not a binary property list");
    }
    const ByteView trailer = bytes.last(trailer_size);
    if (read_be64(trailer.subspan(8)) > limits.max_objects) {
        malformed("more than " + std::to_string(limits.max_objects) + " objects");
    }
    check_strings(bytes, trailer);
}

PlistValue from_node(plist_t node, std::size_t depth, const PlistLimits& limits);

PlistValue from_array(plist_t node, std::size_t depth, const PlistLimits& limits) {
    PlistArray array;
    const std::uint32_t size = plist_array_get_size(node);
    for (std::uint32_t i = 0; i < size; ++i) {
        array.push_back(from_node(plist_array_get_item(node, i), depth + 1, limits));
    }
    return array;
}

PlistValue from_dict(plist_t node, std::size_t depth, const PlistLimits& limits) {
    PlistDict dict;
    plist_dict_iter raw_iter = nullptr;
    plist_dict_new_iter(node, &raw_iter);
    const std::unique_ptr<void, MallocFree> iter(raw_iter);
    while (true) {
        char* raw_key = nullptr;
        plist_t item = nullptr;
        plist_dict_next_item(node, raw_iter, &raw_key, &item);
        const std::unique_ptr<char, MallocFree> key(raw_key);
        if (item == nullptr || key == nullptr)
            break;
        const std::string_view name(key.get());
        if (std::any_of(dict.begin(), dict.end(),
                        [&](const auto& member) { return member.first == name; })) {
            malformed("a dictionary with the key '" + std::string(name) + "' twice");
        }
        dict.emplace_back(key.get(), from_node(item, depth + 1, limits));
    }
    return dict;
}

PlistValue from_node(plist_t node, std::size_t depth, const PlistLimits& limits) {
    if (depth > limits.max_depth) {
        malformed("nested deeper than " + std::to_string(limits.max_depth) + " levels");
    }
    switch (plist_get_node_type(node)) {
        case PLIST_BOOLEAN: {
            std::uint8_t value = 0;
            plist_get_bool_val(node, &value);
            return value != 0;
        }
        case PLIST_UINT: {
            std::uint64_t value = 0;
            plist_get_uint_val(node, &value);
            return value;
        }
        case PLIST_REAL: {
            double value = 0;
            plist_get_real_val(node, &value);
            return value;
        }
        case PLIST_STRING: {
            std::uint64_t length = 0;
            const char* text = plist_get_string_ptr(node, &length);
            return text ? std::string(text, length) : std::string();
        }
        case PLIST_DATA: {
            char* raw = nullptr;
            std::uint64_t length = 0;
            plist_get_data_val(node, &raw, &length);
            const std::unique_ptr<char, MallocFree> data(raw);
            const auto* begin = reinterpret_cast<const std::uint8_t*>(data.get());
            return data ? Bytes(begin, begin + length) : Bytes{};
        }
        case PLIST_ARRAY:
            return from_array(node, depth, limits);
        case PLIST_DICT:
            return from_dict(node, depth, limits);
        default:
            malformed("it holds a date, UID or other type AirPlay does not use");
    }
}

PlistNode to_node(const PlistValue& value);

struct NodeBuilder {
    PlistNode operator()(bool v) const { return PlistNode(plist_new_bool(v ? 1 : 0)); }
    PlistNode operator()(std::uint64_t v) const { return PlistNode(plist_new_uint(v)); }
    PlistNode operator()(double v) const { return PlistNode(plist_new_real(v)); }
    PlistNode operator()(const std::string& v) const {
        return PlistNode(plist_new_string(v.c_str()));
    }
    PlistNode operator()(const Bytes& v) const {
        return PlistNode(plist_new_data(reinterpret_cast<const char*>(v.data()), v.size()));
    }
    PlistNode operator()(const PlistArray& v) const {
        PlistNode array(plist_new_array());
        for (const auto& item : v)
            plist_array_append_item(array.get(), to_node(item).release());
        return array;
    }
    PlistNode operator()(const PlistDict& v) const {
        PlistNode dict(plist_new_dict());
        for (const auto& [key, item] : v) {
            plist_dict_set_item(dict.get(), key.c_str(), to_node(item).release());
        }
        return dict;
    }
};

PlistNode to_node(const PlistValue& value) {
    return std::visit(NodeBuilder{}, value.value);
}

}  // namespace

const PlistValue* PlistValue::find(std::string_view key) const {
    const auto* members = dict();
    if (members == nullptr)
        return nullptr;
    for (const auto& [name, item] : *members) {
        if (name == key)
            return &item;
    }
    return nullptr;
}

std::optional<std::uint64_t> PlistValue::integer() const {
    const auto* v = std::get_if<std::uint64_t>(&value);
    return v ? std::optional(*v) : std::nullopt;
}

std::optional<std::string_view> PlistValue::string() const {
    const auto* v = std::get_if<std::string>(&value);
    return v ? std::optional<std::string_view>(*v) : std::nullopt;
}

std::optional<ByteView> PlistValue::data() const {
    const auto* v = std::get_if<Bytes>(&value);
    return v ? std::optional<ByteView>(*v) : std::nullopt;
}

PlistValue plist_decode(ByteView bytes, PlistLimits limits) {
    check_shape(bytes, limits);
    plist_t raw = nullptr;
    plist_from_bin(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::uint32_t>(bytes.size()), &raw);
    const PlistNode root(raw);
    if (!root)
        malformed("libplist could not read it");
    return from_node(root.get(), 0, limits);
}

Bytes plist_encode(const PlistValue& value) {
    const PlistNode root = to_node(value);
    char* raw = nullptr;
    std::uint32_t length = 0;
    plist_to_bin(root.get(), &raw, &length);
    const std::unique_ptr<char, MallocFree> bin(raw);
    if (!bin)
        throw Error(ErrorKind::invalid_arguments, "the property list could not be written");
    const auto* begin = reinterpret_cast<const std::uint8_t*>(bin.get());
    return Bytes(begin, begin + length);
}

}  // namespace atv::airplay
