#include "companion/text_input.hpp"

#include <plist/plist.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <utility>

#include "atv/error.hpp"

namespace atv::companion {

namespace {

constexpr std::string_view bplist_magic = "bplist00";
constexpr std::size_t bplist_trailer_size = 32;
constexpr std::size_t uuid_size = 16;
constexpr std::uint64_t archive_version = 100000;

struct PlistFree {
    void operator()(plist_t node) const { plist_free(node); }
};
using PlistNode = std::unique_ptr<void, PlistFree>;

struct BinFree {
    void operator()(char* bin) const { plist_to_bin_free(bin); }
};

[[noreturn]] void not_understood(const std::string& what) {
    throw Error(ErrorKind::not_supported, "the text-input archive is not understood: " + what);
}

std::uint64_t read_be(ByteView bytes, std::size_t offset, std::size_t size) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i)
        value = (value << 8) | bytes[offset + i];
    return value;
}

// Where the characters of the string object at `offset` begin and how many units it has; a low
// nibble of 15 means an integer object with the length follows the marker.
std::pair<std::uint64_t, std::size_t> string_extent(ByteView bytes, std::size_t offset) {
    const std::uint8_t nibble = bytes[offset] & 0x0f;
    if (nibble != 0x0f)
        return {nibble, offset + 1};
    if (offset + 2 > bytes.size() || (bytes[offset + 1] & 0xf0) != 0x10)
        not_understood("a string length that is no integer");
    const std::size_t size = std::size_t{1} << (bytes[offset + 1] & 0x0f);
    if (size > 8 || offset + 2 + size > bytes.size())
        not_understood("a string length past the end");
    return {read_be(bytes, offset + 2, size), offset + 2 + size};
}

// Before libplist reads untrusted bytes: the size and object count within the limits (libplist
// allocates per object and recurses per level), and no string it mishandles (libplist 2.2 aborts
// on a NUL inside a string or key, and keeps an "ASCII" string with other bytes as it is).
void check_untrusted(ByteView bytes, const TextInputLimits& limits) {
    if (bytes.size() > limits.max_archive_bytes) {
        not_understood(std::to_string(bytes.size()) + " bytes, more than the " +
                       std::to_string(limits.max_archive_bytes) + " accepted");
    }
    if (bytes.size() < bplist_magic.size() + 1 + bplist_trailer_size ||
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bplist_magic.size()) !=
            bplist_magic) {
        not_understood("not a binary property list");
    }
    const std::size_t trailer = bytes.size() - bplist_trailer_size;
    const std::size_t offset_size = bytes[trailer + 6];
    const std::uint64_t count = read_be(bytes, trailer + 8, 8);
    const std::uint64_t table = read_be(bytes, trailer + 24, 8);
    if (count > limits.max_objects) {
        not_understood(std::to_string(count) + " objects, more than the " +
                       std::to_string(limits.max_objects) + " accepted");
    }
    if (offset_size == 0 || offset_size > 8 || table > trailer ||
        count > (trailer - table) / offset_size) {
        not_understood("an offset table out of bounds");
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t offset = read_be(bytes, table + i * offset_size, offset_size);
        if (offset >= trailer)
            not_understood("an object out of bounds");
        const std::uint8_t kind = bytes[offset] >> 4;
        const std::size_t unit = kind == 0x5 ? 1 : kind == 0x6 ? 2 : 0;
        if (unit == 0)
            continue;
        const auto [length, begin] = string_extent(bytes, offset);
        if (begin > trailer || length > (trailer - begin) / unit)
            not_understood("a string past the end");
        for (std::size_t at = begin; at < begin + length * unit; at += unit) {
            if (bytes[at] == 0 && (unit == 1 || bytes[at + 1] == 0))
                not_understood("a string with a NUL character in it");
            if (unit == 1 && bytes[at] >= 0x80)
                not_understood("an ASCII string with a byte that is not ASCII");
        }
    }
}

// A parsed archive: `$top` and `$objects`, and UID references resolved with bounds checks.
class ArchiveReader {
  public:
    ArchiveReader(ByteView bytes, const TextInputLimits& limits) {
        check_untrusted(bytes, limits);
        plist_t raw = nullptr;
        plist_from_bin(reinterpret_cast<const char*>(bytes.data()),
                       static_cast<std::uint32_t>(bytes.size()), &raw);
        root_.reset(raw);
        if (!root_ || plist_get_node_type(root_.get()) != PLIST_DICT)
            not_understood("no dictionary at its root");
        objects_ = plist_dict_get_item(root_.get(), "$objects");
        top_ = plist_dict_get_item(root_.get(), "$top");
        if (objects_ == nullptr || plist_get_node_type(objects_) != PLIST_ARRAY)
            not_understood("no $objects");
        if (top_ == nullptr || plist_get_node_type(top_) != PLIST_DICT)
            not_understood("no $top");
    }

    [[nodiscard]] plist_t top() const { return top_; }

    // The member `key` of the dictionary `node`, followed through a UID into `$objects`;
    // nullptr when there is none.
    [[nodiscard]] plist_t member(plist_t node, const char* key) const {
        if (node == nullptr || plist_get_node_type(node) != PLIST_DICT)
            return nullptr;
        plist_t item = plist_dict_get_item(node, key);
        if (item == nullptr || plist_get_node_type(item) != PLIST_UID)
            return item;
        std::uint64_t index = 0;
        plist_get_uid_val(item, &index);
        if (index >= plist_array_get_size(objects_))
            not_understood("a reference to object " + std::to_string(index) + " of " +
                           std::to_string(plist_array_get_size(objects_)));
        plist_t object = plist_array_get_item(objects_, static_cast<std::uint32_t>(index));
        // An object that is itself a reference leads nowhere an archive goes.
        if (object == nullptr || plist_get_node_type(object) == PLIST_UID)
            not_understood("a reference to a reference");
        return object;
    }

    [[nodiscard]] plist_t path(std::initializer_list<const char*> keys) const {
        plist_t node = top_;
        for (const char* key : keys) {
            node = member(node, key);
            if (node == nullptr)
                return nullptr;
        }
        return node;
    }

  private:
    PlistNode root_;
    plist_t objects_ = nullptr;
    plist_t top_ = nullptr;
};

std::optional<std::string_view> string_of(plist_t node) {
    if (node == nullptr || plist_get_node_type(node) != PLIST_STRING)
        return std::nullopt;
    std::uint64_t length = 0;
    const char* text = plist_get_string_ptr(node, &length);
    return text != nullptr ? std::string_view(text, length) : std::string_view();
}

std::optional<ByteView> data_of(plist_t node) {
    if (node == nullptr || plist_get_node_type(node) != PLIST_DATA)
        return std::nullopt;
    std::uint64_t length = 0;
    const char* data = plist_get_data_ptr(node, &length);
    if (data == nullptr)
        return ByteView();
    return ByteView(reinterpret_cast<const std::uint8_t*>(data), length);
}

// A session UUID: 16 bytes of data, or an NSUUID object holding them in `NS.uuidbytes`.
Bytes session_uuid_of(const ArchiveReader& archive, plist_t node, const char* what) {
    auto data = data_of(node);
    if (!data)
        data = data_of(archive.member(node, "NS.uuidbytes"));
    if (!data)
        not_understood(std::string("no ") + what);
    if (data->size() != uuid_size) {
        not_understood(std::string(what) + " of " + std::to_string(data->size()) + " bytes, not " +
                       std::to_string(uuid_size));
    }
    return Bytes(data->begin(), data->end());
}

bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        std::uint32_t minimum = 0;
        if (lead < 0x80) {
            ++i;
            continue;
        }
        if ((lead & 0xe0) == 0xc0) {
            length = 2;
            minimum = 0x80;
        } else if ((lead & 0xf0) == 0xe0) {
            length = 3;
            minimum = 0x800;
        } else if ((lead & 0xf8) == 0xf0) {
            length = 4;
            minimum = 0x10000;
        } else {
            return false;
        }
        if (i + length > text.size())
            return false;
        std::uint32_t point = lead & (0xff >> (length + 1));
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80)
                return false;
            point = (point << 6) | (next & 0x3f);
        }
        if (point < minimum || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff))
            return false;
        i += length;
    }
    return true;
}

// Builds an archive: objects are appended to `$objects` and named by their index.
class ArchiveWriter {
  public:
    ArchiveWriter() : objects_(plist_new_array()) { add(plist_new_string("$null")); }

    std::uint64_t add(plist_t object) {
        const std::uint64_t index = plist_array_get_size(objects_.get());
        plist_array_append_item(objects_.get(), object);
        return index;
    }

    std::uint64_t string(std::string_view text) {
        if (text.find('\0') != std::string_view::npos)
            throw Error(ErrorKind::invalid_arguments, "the text has a NUL character in it");
        if (!valid_utf8(text))
            throw Error(ErrorKind::invalid_arguments, "the text is not valid UTF-8");
        return add(plist_new_string(std::string(text).c_str()));
    }

    std::uint64_t data(ByteView bytes) {
        return add(plist_new_data(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }

    // The class description `name` (a subclass of NSObject), added once.
    std::uint64_t class_of(const std::string& name) {
        if (const auto found = classes_.find(name); found != classes_.end())
            return found->second;
        plist_t description = plist_new_dict();
        plist_dict_set_item(description, "$classname", plist_new_string(name.c_str()));
        plist_t chain = plist_new_array();
        plist_array_append_item(chain, plist_new_string(name.c_str()));
        plist_array_append_item(chain, plist_new_string("NSObject"));
        plist_dict_set_item(description, "$classes", chain);
        const std::uint64_t index = add(description);
        classes_.emplace(name, index);
        return index;
    }

    // An object of class `name` with members that reference other objects.
    std::uint64_t object(const std::string& name,
                         std::initializer_list<std::pair<const char*, std::uint64_t>> members) {
        const std::uint64_t description = class_of(name);
        plist_t dict = plist_new_dict();
        for (const auto& [key, index] : members)
            plist_dict_set_item(dict, key, plist_new_uid(index));
        plist_dict_set_item(dict, "$class", plist_new_uid(description));
        return add(dict);
    }

    std::uint64_t uuid(ByteView session_uuid) {
        if (session_uuid.size() != uuid_size) {
            throw Error(ErrorKind::invalid_arguments, "a text-input session id has 16 bytes, not " +
                                                          std::to_string(session_uuid.size()));
        }
        const std::uint64_t description = class_of("NSUUID");
        plist_t dict = plist_new_dict();
        plist_dict_set_item(dict, "NS.uuidbytes",
                            plist_new_data(reinterpret_cast<const char*>(session_uuid.data()),
                                           session_uuid.size()));
        plist_dict_set_item(dict, "$class", plist_new_uid(description));
        return add(dict);
    }

    Bytes finish(std::initializer_list<std::pair<const char*, std::uint64_t>> top_members) {
        PlistNode root(plist_new_dict());
        plist_dict_set_item(root.get(), "$version", plist_new_uint(archive_version));
        plist_dict_set_item(root.get(), "$archiver", plist_new_string("RTIKeyedArchiver"));
        plist_t top = plist_new_dict();
        for (const auto& [key, index] : top_members)
            plist_dict_set_item(top, key, plist_new_uid(index));
        plist_dict_set_item(root.get(), "$top", top);
        plist_dict_set_item(root.get(), "$objects", objects_.release());
        char* raw = nullptr;
        std::uint32_t length = 0;
        plist_to_bin(root.get(), &raw, &length);
        const std::unique_ptr<char, BinFree> bin(raw);
        if (!bin)
            throw Error(ErrorKind::invalid_arguments,
                        "the text-input archive could not be written");
        const auto* begin = reinterpret_cast<const std::uint8_t*>(bin.get());
        return Bytes(begin, begin + length);
    }

  private:
    PlistNode objects_;
    std::map<std::string, std::uint64_t> classes_;
};

}  // namespace

TextInputSession decode_text_input_session(ByteView archive, const TextInputLimits& limits) {
    const ArchiveReader reader(archive, limits);
    TextInputSession session;
    session.session_uuid =
        session_uuid_of(reader, reader.member(reader.top(), "sessionUUID"), "sessionUUID");
    const plist_t context = reader.path({"documentState", "docSt", "contextBeforeInput"});
    if (context == nullptr)
        return session;  // an empty field has no text
    const auto text = string_of(context);
    if (!text)
        not_understood("a contextBeforeInput that is no string");
    session.text_bytes = text->size();
    if (text->size() > limits.max_text_bytes) {
        session.text_over_limit = true;
        return session;
    }
    session.text = std::string(*text);
    return session;
}

Bytes encode_text_clear(ByteView session_uuid) {
    ArchiveWriter writer;
    const std::uint64_t target = writer.uuid(session_uuid);
    const std::uint64_t output = writer.object("TIKeyboardOutput", {});
    const std::uint64_t nothing = writer.string("");
    const std::uint64_t operations = writer.object(
        "RTITextOperations",
        {{"targetSessionUUID", target}, {"keyboardOutput", output}, {"textToAssert", nothing}});
    return writer.finish({{"textOperations", operations}});
}

Bytes encode_text_insert(ByteView session_uuid, std::string_view text) {
    ArchiveWriter writer;
    const std::uint64_t target = writer.uuid(session_uuid);
    const std::uint64_t insertion = writer.string(text);
    const std::uint64_t output = writer.object("TIKeyboardOutput", {{"insertionText", insertion}});
    const std::uint64_t operations = writer.object(
        "RTITextOperations", {{"targetSessionUUID", target}, {"keyboardOutput", output}});
    return writer.finish({{"textOperations", operations}});
}

Bytes encode_text_input_session(ByteView session_uuid, std::string_view text) {
    if (session_uuid.size() != uuid_size)
        throw Error(ErrorKind::invalid_arguments, "a text-input session id has 16 bytes");
    ArchiveWriter writer;
    const std::uint64_t uuid = writer.data(session_uuid);
    const std::uint64_t context = writer.string(text);
    const std::uint64_t document =
        writer.object("TIDocumentState", {{"contextBeforeInput", context}});
    const std::uint64_t state = writer.object("RTIDocumentState", {{"docSt", document}});
    return writer.finish({{"sessionUUID", uuid}, {"documentState", state}});
}

TextOperation decode_text_operation(ByteView archive, const TextInputLimits& limits) {
    const ArchiveReader reader(archive, limits);
    const plist_t operations = reader.member(reader.top(), "textOperations");
    if (operations == nullptr)
        not_understood("no textOperations");
    TextOperation operation;
    operation.target_session_uuid = session_uuid_of(
        reader, reader.member(operations, "targetSessionUUID"), "targetSessionUUID");
    if (const plist_t asserted = reader.member(operations, "textToAssert")) {
        const auto text = string_of(asserted);
        if (!text)
            not_understood("a textToAssert that is no string");
        operation.clear = text->empty();
    }
    const plist_t output = reader.member(operations, "keyboardOutput");
    if (const plist_t inserted = reader.member(output, "insertionText")) {
        const auto text = string_of(inserted);
        if (!text)
            not_understood("an insertionText that is no string");
        if (text->size() > limits.max_text_bytes) {
            not_understood("an insertionText of " + std::to_string(text->size()) +
                           " bytes, more than the " + std::to_string(limits.max_text_bytes) +
                           " accepted");
        }
        operation.insertion = std::string(*text);
    }
    return operation;
}

}  // namespace atv::companion
