// One TCP connection to an AirPlay receiver carrying HTTP or RTSP requests one at a time, in
// plain text during pairing and in HAP frames (Control keys) after pair-verify.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "hap/session.hpp"
#include "http/message.hpp"

namespace atv::airplay {

inline constexpr std::chrono::milliseconds default_request_timeout{5000};

class HttpClient {
  public:
    // Connects within `timeout`; throws atv::Error(connection_failed or timeout).
    static asio::awaitable<std::unique_ptr<HttpClient>> connect(asio::any_io_executor executor,
                                                                std::string address,
                                                                std::uint16_t port,
                                                                std::chrono::milliseconds timeout);

    explicit HttpClient(asio::ip::tcp::socket socket, std::string peer);
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;
    ~HttpClient();

    // Sends the request and reads the response, within `timeout`. Throws atv::Error: timeout,
    // connection_failed when the peer closes or answers with something malformed. The status is
    // the caller's to judge.
    asio::awaitable<http::Response> request(http::Request request,
                                            std::chrono::milliseconds timeout);

    // Everything after this point travels in HAP frames sealed with these keys.
    void enable_encryption(const hap::SessionKeys& keys);
    [[nodiscard]] bool encrypted() const { return cipher_.has_value(); }
    [[nodiscard]] bool is_open() const { return socket_.is_open(); }
    [[nodiscard]] const std::string& peer() const { return peer_; }
    // The local address of the connection, for RTSP URLs.
    [[nodiscard]] std::string local_address() const;

    void close();

  private:
    asio::awaitable<http::Response> exchange(const http::Request& request);

    asio::ip::tcp::socket socket_;
    std::string peer_;
    http::Reader reader_{http::Reader::Kind::response};
    std::optional<hap::HapFrameCipher> cipher_;
    bool busy_ = false;
};

// A POST as AirPlay clients send it: their User-Agent, keep-alive and the body's type.
http::Request post_request(std::string path, std::string content_type, Bytes body);

// The headers AirPlay's pairing requests carry (protocols.md §5.1); `hkp` is "3", or "4" for
// transient pairing.
http::Request pairing_request(std::string path, Bytes body, std::string_view hkp = "3");

}  // namespace atv::airplay
