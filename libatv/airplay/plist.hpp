// Binary property lists (bplist00), the bodies of AirPlay's RTSP requests and of legacy
// pairing. Parsing and writing are Debian's libplist; this is a small value type around it that
// never hands out a libplist pointer, and a size check before libplist sees untrusted bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "support/bytes.hpp"

namespace atv::airplay {

struct PlistValue;
using PlistArray = std::vector<PlistValue>;
// Keys in the order they were read or added.
using PlistDict = std::vector<std::pair<std::string, PlistValue>>;

// Integers are unsigned 64-bit: a negative number read from a plist is its two's complement.
struct PlistValue {
    std::variant<bool, std::uint64_t, double, std::string, Bytes, PlistArray, PlistDict> value;

    PlistValue() : value(false) {}
    PlistValue(bool v) : value(v) {}  // NOLINT(google-explicit-constructor): literal dicts
    PlistValue(int v) : value(static_cast<std::uint64_t>(v)) {}  // NOLINT
    PlistValue(std::uint64_t v) : value(v) {}                    // NOLINT
    PlistValue(double v) : value(v) {}                           // NOLINT
    PlistValue(const char* v) : value(std::string(v)) {}         // NOLINT
    PlistValue(std::string v) : value(std::move(v)) {}           // NOLINT
    PlistValue(Bytes v) : value(std::move(v)) {}                 // NOLINT
    PlistValue(PlistArray v) : value(std::move(v)) {}            // NOLINT
    PlistValue(PlistDict v) : value(std::move(v)) {}             // NOLINT

    // The member `key` of a dictionary; nullptr when this is no dictionary or has no such key.
    [[nodiscard]] const PlistValue* find(std::string_view key) const;
    [[nodiscard]] std::optional<std::uint64_t> integer() const;
    [[nodiscard]] std::optional<std::string_view> string() const;
    [[nodiscard]] std::optional<ByteView> data() const;
    [[nodiscard]] const PlistArray* array() const { return std::get_if<PlistArray>(&value); }
    [[nodiscard]] const PlistDict* dict() const { return std::get_if<PlistDict>(&value); }

    friend bool operator==(const PlistValue&, const PlistValue&) = default;
};

struct PlistLimits {
    std::size_t max_input = 1024 * 1024;
    std::size_t max_objects = 4096;  // also bounds the nesting depth libplist recurses through
    std::size_t max_depth = 32;
};

// Throws atv::Error(connection_failed) for anything that is not a well-formed binary plist
// within the limits, or holds types AirPlay does not use (dates, UIDs).
PlistValue plist_decode(ByteView bytes, PlistLimits limits = {});
Bytes plist_encode(const PlistValue& value);

}  // namespace atv::airplay
