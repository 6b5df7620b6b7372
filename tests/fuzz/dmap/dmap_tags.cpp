// Untrusted bytes through the DMAP tag decoder; whatever decodes must re-encode to the same
// bytes (every length is explicit, so the encoding is canonical).
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "dmap/tags.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const atv::ByteView input(data, size);
    try {
        const auto tags = atv::dmap::decode(input);
        atv::Bytes encoded;
        for (const auto& tag : tags) {
            const auto bytes = atv::dmap::encode(tag);
            encoded.insert(encoded.end(), bytes.begin(), bytes.end());
        }
        if (encoded != atv::Bytes(input.begin(), input.end())) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
