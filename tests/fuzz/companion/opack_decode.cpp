// Untrusted bytes through the OPACK decoder; whatever decodes must re-encode to bytes that
// encode the same way again.
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "companion/opack.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    atv::companion::OpackLimits limits;
    limits.max_input = 256 * 1024;
    try {
        const auto value = atv::companion::opack_decode(atv::ByteView(data, size), limits);
        // Compared as bytes: a NaN float is not equal to itself as a value.
        const auto encoded = atv::companion::opack_encode(value);
        if (atv::companion::opack_encode(atv::companion::opack_decode(encoded)) != encoded) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
