// DMAP tags: 4 ASCII characters, a 4-byte big-endian length, then the value. The wire does not
// say what a value is; the tag table does (container, unsigned integer, bool, string, raw).
// The decoder checks every length against what is left of its parent and refuses anything
// that does not fit, so untrusted bytes from the network can go straight in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/bytes.hpp"

namespace atv::dmap {

enum class TagType : std::uint8_t { container, uint, boolean, string, raw };

// The type of a known tag; unknown tags are raw.
TagType tag_type(std::string_view tag);

// One decoded tag. Containers hold children; every other type keeps its value bytes.
struct Tag {
    std::string name;  // 4 characters
    TagType type = TagType::raw;
    Bytes value;
    std::vector<Tag> children;

    // The first child (not deeper) with this name, or nullptr.
    [[nodiscard]] const Tag* find(std::string_view child) const;
    // Throws atv::Error(connection_failed) when the tag is not of that type.
    [[nodiscard]] std::uint64_t as_uint() const;
    [[nodiscard]] bool as_bool() const;
    [[nodiscard]] std::string as_string() const;
};

struct DecodeLimits {
    std::size_t max_input = 1024 * 1024;
    std::size_t max_depth = 16;
    std::size_t max_tags = 10000;
};

// Every tag in `data`, which must be used up exactly. Throws atv::Error(connection_failed)
// naming DMAP for a truncated or overlong tag, a bad integer or bool width, or a limit.
std::vector<Tag> decode(ByteView data, const DecodeLimits& limits = {});

// The one top-level tag `data` holds, which must be `expected`.
Tag decode_one(ByteView data, std::string_view expected, const DecodeLimits& limits = {});

// Encoders. `tag` must be 4 characters.
Bytes encode_uint(std::string_view tag, std::uint64_t value, std::size_t width);
Bytes encode_bool(std::string_view tag, bool value);
Bytes encode_string(std::string_view tag, std::string_view value);
Bytes encode_raw(std::string_view tag, ByteView value);
Bytes encode_container(std::string_view tag, const std::vector<Bytes>& children);
// A decoded tree back to bytes (containers re-encode their children).
Bytes encode(const Tag& tag);

}  // namespace atv::dmap
