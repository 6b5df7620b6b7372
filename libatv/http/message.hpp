// HTTP/1.x and RTSP/1.0 messages as Apple devices exchange them, and a strict incremental reader.
// AirPlay receivers answer HTTP and RTSP on one port, RAOP speaks RTSP, DMAP speaks HTTP; the
// messages have one shape and are all read here. The reader is sans-I/O: bytes in, whole
// messages out, with limits on line, header and body sizes, so a hostile peer cannot make it
// hold much.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/bytes.hpp"

namespace atv::http {

struct Limits {
    std::size_t max_line = 4096;  // start line and each header line, CRLF excluded
    std::size_t max_headers = 64;
    std::size_t max_body = 1024 * 1024;
};

class Headers {
  public:
    Headers() = default;
    Headers(std::initializer_list<std::pair<std::string, std::string>> items);

    void add(std::string name, std::string value);
    // Replaces every header of that name with one.
    void set(std::string name, std::string value);
    // Drops every header of that name, compared case-insensitively.
    void remove(std::string_view name);
    // The first value of `name`, compared case-insensitively.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& items() const {
        return items_;
    }

  private:
    std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
    std::string method;                 // "POST", "SETUP", ...
    std::string target;                 // "/pair-setup", "rtsp://10.0.0.2/1234", ...
    std::string protocol = "HTTP/1.1";  // or "RTSP/1.0"
    Headers headers{};
    Bytes body{};

    // The target without its query ("/pair" of "/pair?a=1").
    [[nodiscard]] std::string_view path() const;
    // The target's query as decoded parameters; throws as parse_query.
    [[nodiscard]] std::map<std::string, std::string> query() const;
};

struct Response {
    std::string protocol = "HTTP/1.1";
    int status = 200;
    std::string reason = "OK";
    Headers headers{};
    Bytes body{};
};

// The message as sent, with Content-Length set from the body (any given one is replaced); a
// request without a body carries none unless its method is POST or PUT.
Bytes encode(const Request& request);
Bytes encode(const Response& response);

// Reads a stream of messages of one kind. Every malformed or oversized message throws
// atv::Error(connection_failed) saying what was wrong; the reader is useless afterwards.
// A message without Content-Length has an empty body (Apple devices always send one);
// Transfer-Encoding is refused.
class Reader {
  public:
    enum class Kind : std::uint8_t { request, response };

    explicit Reader(Kind kind, Limits limits = {});

    void feed(ByteView bytes);
    // The next complete message, or nullopt until more bytes arrive.
    std::optional<Request> next_request();
    std::optional<Response> next_response();
    [[nodiscard]] std::size_t buffered() const { return pending_.size(); }

  private:
    struct Message {
        std::string start_line;
        Headers headers;
        Bytes body;
    };

    std::optional<Message> next_message();

    Kind kind_;
    Limits limits_;
    Bytes pending_;
};

// Query text ("a=1&b=%41") to parameters. Throws atv::Error(connection_failed) on bad percent
// escapes or a repeated name.
std::map<std::string, std::string> parse_query(std::string_view query);
// Percent-encodes everything but unreserved characters.
std::string url_encode(std::string_view text);

}  // namespace atv::http
