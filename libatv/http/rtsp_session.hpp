// The RTSP session of an AirPlay sender (RAOP, and the AirPlay 2 tunnel): the identity the
// receiver knows it by, which every request carries, and the request sequence.
#pragma once

#include <cstdint>
#include <string>

#include "http/message.hpp"

namespace atv::http {

class RtspSession {
  public:
    // A session of its own: a random DACP-ID (64 bits, upper-case hex) and Active-Remote (32
    // bits, decimal).
    RtspSession();

    // A request of the session, with the next CSeq, DACP-ID, Active-Remote, Client-Instance (the
    // DACP-ID again) and the sender's User-Agent.
    Request request(std::string method, std::string target, std::string protocol = "RTSP/1.0");

    [[nodiscard]] const std::string& dacp_id() const { return dacp_id_; }
    [[nodiscard]] const std::string& active_remote() const { return active_remote_; }

  private:
    std::string dacp_id_;
    std::string active_remote_;
    std::uint32_t cseq_ = 0;
};

}  // namespace atv::http
