#include "http/rtsp_session.hpp"

#include <algorithm>
#include <cctype>

#include "support/bytes.hpp"

namespace atv::http {

namespace {

std::string random_dacp_id() {
    std::string text = to_hex(random_bytes(8));
    std::ranges::transform(text, text.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

std::string random_active_remote() {
    std::uint32_t value = 0;
    for (const std::uint8_t byte : random_bytes(4)) {
        value = (value << 8U) | byte;
    }
    return std::to_string(value);
}

}  // namespace

RtspSession::RtspSession() : dacp_id_(random_dacp_id()), active_remote_(random_active_remote()) {}

Request RtspSession::request(std::string method, std::string target, std::string protocol) {
    Request request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.protocol = std::move(protocol);
    request.headers.add("CSeq", std::to_string(cseq_++));
    request.headers.add("DACP-ID", dacp_id_);
    request.headers.add("Active-Remote", active_remote_);
    request.headers.add("Client-Instance", dacp_id_);
    request.headers.add("User-Agent", "AirPlay/550.10");
    return request;
}

}  // namespace atv::http
