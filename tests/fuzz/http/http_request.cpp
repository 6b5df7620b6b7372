// Untrusted bytes as HTTP/RTSP requests (what DMAP's pairing server and the fakes read), with
// the query of each target decoded; every request read must survive being written and read
// again unchanged.
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "http/message.hpp"

namespace {

void decode_query(const atv::http::Request& request) {
    try {
        (void)request.query();
    } catch (const atv::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    atv::http::Limits limits;
    limits.max_body = 64 * 1024;
    atv::http::Reader reader(atv::http::Reader::Kind::request, limits);
    try {
        reader.feed(atv::ByteView(data, size));
        while (auto request = reader.next_request()) {
            decode_query(*request);
            atv::http::Reader again(atv::http::Reader::Kind::request, limits);
            again.feed(atv::http::encode(*request));
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
