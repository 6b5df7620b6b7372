// Untrusted bytes through the HTTP/RTSP parser (requests, as the /pair endpoint reads them,
// and responses, as logins and RTSP read them), with the query decoding of each request.
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "dmap/http.hpp"

namespace {

void parse(atv::dmap::HttpParser::Kind kind, atv::ByteView input) {
    atv::dmap::HttpParser parser(kind, atv::dmap::HttpLimits{4096, 32, 64 * 1024});
    try {
        while (!input.empty()) {
            const std::size_t used = parser.feed(input);
            input = input.subspan(used);
            if (!parser.complete()) {
                return;
            }
            const auto message = parser.take();
            if (kind == atv::dmap::HttpParser::Kind::request) {
                (void)message.query();
            }
        }
    } catch (const atv::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse(atv::dmap::HttpParser::Kind::request, atv::ByteView(data, size));
    parse(atv::dmap::HttpParser::Kind::response, atv::ByteView(data, size));
    return 0;
}
