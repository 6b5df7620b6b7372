// Untrusted bytes as HTTP/RTSP responses, fed in two pieces at a point the input chooses;
// every response read must survive being written and read again unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "http/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const std::size_t split = data[0] % size;
    const atv::ByteView input(data + 1, size - 1);
    atv::http::Limits limits;
    limits.max_body = 64 * 1024;
    atv::http::Reader reader(atv::http::Reader::Kind::response, limits);
    try {
        reader.feed(input.first(std::min(split, input.size())));
        while (reader.next_response()) {
        }
        reader.feed(input.subspan(std::min(split, input.size())));
        while (auto response = reader.next_response()) {
            atv::http::Reader again(atv::http::Reader::Kind::response, limits);
            again.feed(atv::http::encode(*response));
            const auto reread = again.next_response();
            if (!reread || reread->status != response->status || reread->body != response->body ||
                again.buffered() != 0) {
                __builtin_trap();
            }
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
