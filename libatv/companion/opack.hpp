// OPACK, the binary object encoding of the Companion link (protocols.md §6.3).
// The encoder never writes back-references; the decoder resolves them and bounds nesting
// depth, item counts and sizes so hostile input cannot exhaust memory or the stack.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "support/bytes.hpp"

namespace atv::companion {

struct OpackValue;
using OpackArray = std::vector<OpackValue>;
// Keys may be any value in theory; every real message uses strings, and so do we. Order of
// insertion is kept, as the device sees it.
using OpackDict = std::vector<std::pair<OpackValue, OpackValue>>;
struct OpackUuid {
    std::array<std::uint8_t, 16> bytes{};
    bool operator==(const OpackUuid&) const = default;
};
// Absolute (mach) time: 8 raw bytes, kept as the integer they encode.
struct OpackDate {
    std::uint64_t ticks = 0;
    bool operator==(const OpackDate&) const = default;
};

struct OpackValue {
    using Storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Bytes,
                                 OpackArray, OpackDict, OpackUuid, OpackDate>;
    Storage value = nullptr;

    OpackValue() = default;
    OpackValue(std::nullptr_t) {}
    OpackValue(bool flag) : value(flag) {}
    OpackValue(int number) : value(std::int64_t{number}) {}
    OpackValue(std::int64_t number) : value(number) {}
    OpackValue(std::uint32_t number) : value(std::int64_t{number}) {}
    OpackValue(double number) : value(number) {}
    OpackValue(const char* text) : value(std::string(text)) {}
    OpackValue(std::string text) : value(std::move(text)) {}
    OpackValue(Bytes data) : value(std::move(data)) {}
    OpackValue(OpackArray items) : value(std::move(items)) {}
    OpackValue(OpackDict entries) : value(std::move(entries)) {}
    OpackValue(OpackUuid uuid) : value(uuid) {}
    OpackValue(OpackDate date) : value(date) {}

    template <typename T>
    [[nodiscard]] bool is() const {
        return std::holds_alternative<T>(value);
    }
    template <typename T>
    [[nodiscard]] const T* get_if() const {
        return std::get_if<T>(&value);
    }

    // Dict lookup by string key; nullptr when this is no dict or the key is absent.
    [[nodiscard]] const OpackValue* find(std::string_view key) const;
    // Typed dict lookups; nullopt when absent or of another type.
    [[nodiscard]] std::optional<std::int64_t> int_at(std::string_view key) const;
    [[nodiscard]] std::optional<std::string> string_at(std::string_view key) const;
    [[nodiscard]] std::optional<Bytes> bytes_at(std::string_view key) const;

    bool operator==(const OpackValue& other) const;
};

struct OpackLimits {
    std::size_t max_depth = 32;
    std::size_t max_items = 100000;  // elements of all collections together
    std::size_t max_input = 16 * 1024 * 1024;
};

// Negative integers other than -1 are written as 8-byte two's complement.
Bytes opack_encode(const OpackValue& value);
// Decodes exactly one value spanning all of `data`. Throws atv::Error(connection_failed) with a
// description of what is wrong on malformed, truncated or oversized input.
OpackValue opack_decode(ByteView data, const OpackLimits& limits = {});

}  // namespace atv::companion
