// Untrusted bytes through the binary property list reader; whatever decodes must encode to a
// list that decodes to the same value.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <variant>

#include "airplay/plist.hpp"
#include "atv/error.hpp"

namespace {

// NaN is not equal to itself: such values are compared by re-encoding only.
bool has_nan(const atv::airplay::PlistValue& value) {
    if (const auto* real = std::get_if<double>(&value.value))
        return std::isnan(*real);
    if (const auto* array = value.array()) {
        for (const auto& item : *array) {
            if (has_nan(item))
                return true;
        }
    }
    if (const auto* dict = value.dict()) {
        for (const auto& [key, item] : *dict) {
            if (has_nan(item))
                return true;
        }
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto value = atv::airplay::plist_decode(atv::ByteView(data, size));
        const auto encoded = atv::airplay::plist_encode(value);
        const auto again = atv::airplay::plist_decode(encoded);
        if (!has_nan(value) && !(again == value))
            __builtin_trap();
    } catch (const atv::Error&) {
    }
    return 0;
}
