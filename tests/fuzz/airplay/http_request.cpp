// Untrusted bytes as HTTP/RTSP requests (what the fake AirPlay receiver reads); every request
// read must survive being written and read again unchanged.
#include <cstddef>
#include <cstdint>

#include "airplay/http.hpp"
#include "atv/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    atv::airplay::HttpLimits limits;
    limits.max_body = 64 * 1024;
    atv::airplay::HttpReader reader(atv::airplay::HttpReader::Kind::request, limits);
    try {
        reader.feed(atv::ByteView(data, size));
        while (auto request = reader.next_request()) {
            atv::airplay::HttpReader again(atv::airplay::HttpReader::Kind::request, limits);
            again.feed(atv::airplay::encode(*request));
            const auto reread = again.next_request();
            if (!reread || reread->method != request->method || reread->target != request->target ||
                reread->body != request->body) {
                __builtin_trap();
            }
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
