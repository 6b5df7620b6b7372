// Untrusted bytes through the Companion frame reader, fed in two pieces split by the first byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "companion/frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const atv::ByteView input(data + 1, size - 1);
    const std::size_t split = data[0] % (input.size() + 1);
    atv::companion::FrameReader reader(64 * 1024);
    try {
        std::size_t total = 0;
        for (const atv::ByteView piece : {input.first(split), input.subspan(split)}) {
            reader.feed(piece);
            while (auto complete = reader.next()) {
                total += atv::companion::frame_header_size + complete->frame.payload.size();
                const auto encoded =
                    atv::companion::encode_frame(complete->frame.type, complete->frame.payload);
                if (!std::equal(complete->header.begin(), complete->header.end(),
                                encoded.begin())) {
                    __builtin_trap();
                }
            }
        }
        if (total > input.size()) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
