// HTTP/1.x and RTSP/1.0 messages as AirPlay exchanges them, and a strict incremental reader.
// Devices answer HTTP requests and RTSP requests on the same port, and their answers may begin
// with "RTSP/1.0"; both are read here. The reader is sans-I/O: bytes in, whole messages out,
// with limits on line, header and body sizes, so a hostile peer cannot make it hold much.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/bytes.hpp"

namespace atv::airplay {

struct HttpLimits {
    std::size_t max_line = 4096;  // start line and each header line, CRLF excluded
    std::size_t max_headers = 64;
    std::size_t max_body = 1024 * 1024;
};

class HttpHeaders {
  public:
    void add(std::string name, std::string value);
    // Replaces every header of that name with one.
    void set(std::string name, std::string value);
    // The first value of `name`, compared case-insensitively.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& items() const {
        return items_;
    }

  private:
    std::vector<std::pair<std::string, std::string>> items_;
};

struct HttpRequest {
    std::string method;                 // "POST", "SETUP", ...
    std::string target;                 // "/pair-setup", "rtsp://10.0.0.2/1234", ...
    std::string protocol = "HTTP/1.1";  // or "RTSP/1.0"
    HttpHeaders headers;
    Bytes body;
};

struct HttpResponse {
    std::string protocol = "HTTP/1.1";
    int status = 200;
    std::string reason = "OK";
    HttpHeaders headers;
    Bytes body;
};

// The message as sent, with Content-Length set from the body (any given one is replaced).
Bytes encode(const HttpRequest& request);
Bytes encode(const HttpResponse& response);

// Reads a stream of messages of one kind. Every malformed or oversized message throws
// atv::Error(connection_failed) saying what was wrong; the reader is useless afterwards.
// A message without Content-Length has an empty body (AirPlay devices always send one);
// Transfer-Encoding is refused.
class HttpReader {
  public:
    enum class Kind : std::uint8_t { request, response };

    explicit HttpReader(Kind kind, HttpLimits limits = {});

    void feed(ByteView bytes);
    // The next complete message, or nullopt until more bytes arrive.
    std::optional<HttpRequest> next_request();
    std::optional<HttpResponse> next_response();
    [[nodiscard]] std::size_t buffered() const { return pending_.size(); }

  private:
    struct Message {
        std::string start_line;
        HttpHeaders headers;
        Bytes body;
    };

    std::optional<Message> next_message();

    Kind kind_;
    HttpLimits limits_;
    Bytes pending_;
};

}  // namespace atv::airplay
