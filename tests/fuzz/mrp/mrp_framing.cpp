// Untrusted bytes through the MRP frame reader, fed in two pieces split by the first byte.
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "mrp/framing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const atv::ByteView input(data + 1, size - 1);
    const std::size_t split = data[0] % (input.size() + 1);
    atv::mrp::FrameReader reader(64 * 1024);
    try {
        std::size_t total = 0;
        for (const atv::ByteView piece : {input.first(split), input.subspan(split)}) {
            reader.feed(piece);
            while (auto frame = reader.next()) {
                total += frame->size();
                // What comes out re-encodes to a frame the reader accepts again.
                atv::mrp::FrameReader again;
                again.feed(atv::mrp::encode_frame(*frame));
                if (again.next() != frame) {
                    __builtin_trap();
                }
            }
        }
        if (total > input.size()) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
        // Malformed lengths are reported, never crash.
    }
    return 0;
}
