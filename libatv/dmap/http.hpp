// A small HTTP/1.1 (and RTSP/1.0, which has the same shape) message parser and the socket
// helpers DMAP pairing, DMAP login and RAOP need. Strict on purpose: the peer is a device on
// the network, so every part has a limit, bodies need Content-Length (no chunked transfer),
// and anything unexpected is refused rather than guessed at.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::dmap {

struct HttpLimits {
    std::size_t max_head = 8 * 1024;  // start line and headers, with their line ends
    std::size_t max_headers = 64;
    std::size_t max_body = 1024 * 1024;
};

// A request or a response; which fields are set depends on the start line.
struct HttpMessage {
    // Request: method, target ("/pair?x=1"), version ("HTTP/1.1").
    std::string method;
    std::string target;
    // Response: version ("HTTP/1.1", "RTSP/1.0"), status and reason.
    std::string version;
    int status = 0;
    std::string reason;
    std::map<std::string, std::string> headers;  // names lower-cased
    Bytes body;

    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
    // The target without its query; the query as decoded parameters.
    [[nodiscard]] std::string path() const;
    [[nodiscard]] std::map<std::string, std::string> query() const;
};

// Feeds bytes until one message is complete. Throws atv::Error(connection_failed) on a
// malformed or oversized message, naming the part that is wrong.
class HttpParser {
  public:
    enum class Kind : std::uint8_t { request, response };
    explicit HttpParser(Kind kind, HttpLimits limits = {}) : kind_(kind), limits_(limits) {}

    // Takes bytes; returns how many were used (the rest belong to the next message).
    std::size_t feed(ByteView data);
    [[nodiscard]] bool complete() const { return state_ == State::done; }
    // The message, once complete(); the parser then starts over for the next one.
    HttpMessage take();

  private:
    enum class State : std::uint8_t { head, body, done };
    void parse_head();
    void parse_start_line(std::string_view line);
    void parse_header(std::string_view line);

    Kind kind_;
    HttpLimits limits_;
    State state_ = State::head;
    std::string head_;
    std::size_t body_size_ = 0;
    HttpMessage message_;
};

// Query text ("a=1&b=%41") to parameters. Throws atv::Error(connection_failed) on bad
// percent escapes or a repeated name.
std::map<std::string, std::string> parse_query(std::string_view query);
// Percent-encodes everything but unreserved characters.
std::string url_encode(std::string_view text);

// "HTTP/1.1 200 OK" with Content-Length and the given headers and body.
std::string format_response(int status, std::string_view reason,
                            const std::map<std::string, std::string>& headers, ByteView body);
// "GET /login?... HTTP/1.1" (or any method, target and version) with the given headers;
// Content-Length is added when there is a body.
std::string format_request(std::string_view method, std::string_view target,
                           std::string_view version,
                           const std::map<std::string, std::string>& headers, ByteView body);

// Connects within `timeout`. Throws atv::Error(connection_failed) or Error(timeout); `what`
// names the service in messages ("the DMAP service").
asio::awaitable<asio::ip::tcp::socket> connect_within(asio::any_io_executor executor,
                                                      const std::string& address,
                                                      std::uint16_t port,
                                                      std::chrono::milliseconds timeout,
                                                      std::string_view what);

// Writes all of `data` and reads one message within `timeout` (either may be empty: no write,
// or `parser` null for no read). Leftover bytes stay in `buffer` for the next message.
// Throws atv::Error(timeout), Error(connection_lost) when the peer closes, or
// Error(connection_failed).
asio::awaitable<std::optional<HttpMessage>> exchange(asio::ip::tcp::socket& socket,
                                                     std::string_view data, HttpParser* parser,
                                                     Bytes& buffer,
                                                     std::chrono::milliseconds timeout);

}  // namespace atv::dmap
