// Untrusted bytes as a gzip reply body, decoded within a small limit: every body either decodes
// or is refused with atv::Error, and what decodes survives being encoded and decoded again.
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "http/content_encoding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t limit = 256 * 1024;
    try {
        const atv::Bytes decoded = atv::http::gzip_decode(atv::ByteView(data, size), limit);
        if (decoded.size() > limit ||
            atv::http::gzip_decode(atv::http::gzip_encode(decoded), limit) != decoded) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
