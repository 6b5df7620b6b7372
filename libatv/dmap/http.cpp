#include "dmap/http.hpp"

#include <algorithm>
#include <array>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <charconv>
#include <memory>

#include "atv/error.hpp"

namespace atv::dmap {

namespace {

[[noreturn]] void malformed(const std::string& what) {
    throw Error(ErrorKind::connection_failed, "malformed HTTP message: " + what);
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                   std::string_view::npos;
    });
}

bool is_visible(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](unsigned char c) { return c > 0x20 && c < 0x7F; });
}

bool is_version(std::string_view text) {
    return text == "HTTP/1.1" || text == "HTTP/1.0" || text == "RTSP/1.0";
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out.push_back(' ');
        } else if (text[i] != '%') {
            out.push_back(text[i]);
        } else {
            if (i + 2 >= text.size()) {
                malformed("a percent escape is cut short");
            }
            const int high = hex_digit(text[i + 1]);
            const int low = hex_digit(text[i + 2]);
            if (high < 0 || low < 0) {
                malformed("a percent escape is not hex");
            }
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        }
    }
    return out;
}

// Cancels a socket's operations when the deadline passes. The state is shared with the timer's
// handler, which may run after the watchdog is gone.
class Watchdog {
  public:
    Watchdog(asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout)
        : state_(std::make_shared<State>()), timer_(socket.get_executor()) {
        timer_.expires_after(timeout);
        timer_.async_wait([state = state_, &socket](std::error_code ec) {
            if (!ec && !state->done) {
                state->expired = true;
                socket.cancel();
            }
        });
    }
    ~Watchdog() {
        state_->done = true;
        timer_.cancel();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    [[nodiscard]] bool expired() const { return state_->expired; }

  private:
    struct State {
        bool done = false;
        bool expired = false;
    };
    std::shared_ptr<State> state_;
    asio::steady_timer timer_;
};

std::string seconds_text(std::chrono::milliseconds timeout) {
    return std::to_string(timeout.count() / 1000) + "." +
           std::to_string((timeout.count() % 1000) / 100) + " s";
}

}  // namespace

std::optional<std::string> HttpMessage::header(std::string_view name) const {
    const auto found = headers.find(lower(name));
    if (found == headers.end()) {
        return std::nullopt;
    }
    return found->second;
}

std::string HttpMessage::path() const {
    return target.substr(0, target.find('?'));
}

std::map<std::string, std::string> HttpMessage::query() const {
    const std::size_t mark = target.find('?');
    if (mark == std::string::npos) {
        return {};
    }
    return parse_query(std::string_view(target).substr(mark + 1));
}

std::size_t HttpParser::feed(ByteView data) {
    std::size_t used = 0;
    while (used < data.size() && state_ != State::done) {
        if (state_ == State::head) {
            head_.push_back(static_cast<char>(data[used++]));
            if (head_.size() > limits_.max_head) {
                malformed("the headers exceed " + std::to_string(limits_.max_head) + " bytes");
            }
            if (head_.ends_with("\r\n\r\n")) {
                parse_head();
            }
        } else {
            const std::size_t take =
                std::min(body_size_ - message_.body.size(), data.size() - used);
            message_.body.insert(message_.body.end(),
                                 data.begin() + static_cast<std::ptrdiff_t>(used),
                                 data.begin() + static_cast<std::ptrdiff_t>(used + take));
            used += take;
            if (message_.body.size() == body_size_) {
                state_ = State::done;
            }
        }
    }
    return used;
}

void HttpParser::parse_head() {
    std::string_view rest(head_);
    rest.remove_suffix(2);  // the empty line's CRLF; every line below ends with CRLF
    bool first = true;
    while (!rest.empty()) {
        const std::size_t end = rest.find("\r\n");
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end + 2);
        if (first) {
            parse_start_line(line);
            first = false;
        } else {
            parse_header(line);
        }
    }
    if (message_.headers.contains("transfer-encoding")) {
        malformed("chunked or encoded transfer is not accepted; send Content-Length");
    }
    body_size_ = 0;
    if (const auto length = message_.header("content-length")) {
        const auto [ptr, error] =
            std::from_chars(length->data(), length->data() + length->size(), body_size_);
        if (error != std::errc{} || ptr != length->data() + length->size()) {
            malformed("Content-Length is not a number");
        }
        if (body_size_ > limits_.max_body) {
            malformed("the body exceeds " + std::to_string(limits_.max_body) + " bytes");
        }
    }
    state_ = body_size_ == 0 ? State::done : State::body;
}

void HttpParser::parse_start_line(std::string_view line) {
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos) {
        malformed("the start line has fewer than three parts");
    }
    const std::string_view a = line.substr(0, first);
    const std::string_view b = line.substr(first + 1, second - first - 1);
    const std::string_view c = line.substr(second + 1);
    if (kind_ == Kind::request) {
        if (!is_token(a) || b.empty() || !is_visible(b) || !is_version(c)) {
            malformed("the request line is not 'METHOD TARGET HTTP/1.x'");
        }
        message_.method = a;
        message_.target = b;
        message_.version = c;
        return;
    }
    int status = 0;
    const auto [ptr, error] = std::from_chars(b.data(), b.data() + b.size(), status);
    if (!is_version(a) || b.size() != 3 || error != std::errc{} || ptr != b.data() + b.size() ||
        status < 100) {
        malformed("the status line is not 'HTTP/1.x NNN reason'");
    }
    message_.version = a;
    message_.status = status;
    message_.reason = c;
}

void HttpParser::parse_header(std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        malformed("a header line is not 'Name: value'");
    }
    if (message_.headers.size() >= limits_.max_headers) {
        malformed("more than " + std::to_string(limits_.max_headers) + " headers");
    }
    const std::string_view value = trim(line.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(),
                    [](unsigned char c) { return c < 0x20 && c != '\t'; })) {
        malformed("a header value holds control characters");
    }
    const auto [it, added] =
        message_.headers.emplace(lower(line.substr(0, colon)), std::string(value));
    if (!added) {
        malformed("header " + it->first + " is repeated");
    }
}

HttpMessage HttpParser::take() {
    if (state_ != State::done) {
        throw Error(ErrorKind::invalid_state, "the HTTP message is not complete yet");
    }
    HttpMessage message = std::move(message_);
    message_ = {};
    head_.clear();
    body_size_ = 0;
    state_ = State::head;
    return message;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> parameters;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const std::size_t equals = pair.find('=');
        std::string name = percent_decode(pair.substr(0, equals));
        std::string value = equals == std::string_view::npos
                                ? std::string()
                                : percent_decode(pair.substr(equals + 1));
        if (!parameters.emplace(std::move(name), std::move(value)).second) {
            malformed("a query parameter is repeated");
        }
    }
    return parameters;
}

std::string url_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0x0F]);
        }
    }
    return out;
}

std::string format_response(int status, std::string_view reason,
                            const std::map<std::string, std::string>& headers, ByteView body) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    for (const auto& [name, value] : headers) {
        out += name + ": " + value + "\r\n";
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out.append(body.begin(), body.end());
    return out;
}

std::string format_request(std::string_view method, std::string_view target,
                           std::string_view version,
                           const std::map<std::string, std::string>& headers, ByteView body) {
    std::string out =
        std::string(method) + " " + std::string(target) + " " + std::string(version) + "\r\n";
    for (const auto& [name, value] : headers) {
        out += name + ": " + value + "\r\n";
    }
    if (!body.empty()) {
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    out += "\r\n";
    out.append(body.begin(), body.end());
    return out;
}

asio::awaitable<asio::ip::tcp::socket> connect_within(asio::any_io_executor executor,
                                                      const std::string& address,
                                                      std::uint16_t port,
                                                      std::chrono::milliseconds timeout,
                                                      std::string_view what) {
    std::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(address, ec);
    if (ec) {
        throw Error(ErrorKind::connection_failed,
                    "'" + address + "' is not an IP address; scan for the device again");
    }
    asio::ip::tcp::socket socket(executor);
    std::error_code connect_error;
    bool expired = false;
    {
        Watchdog watchdog(socket, timeout);
        co_await socket.async_connect({ip, port},
                                      asio::redirect_error(asio::use_awaitable, connect_error));
        expired = watchdog.expired();
    }
    const std::string endpoint = address + ":" + std::to_string(port);
    if (expired) {
        throw Error(ErrorKind::timeout,
                    std::string(what) + " at " + endpoint + " did not accept a connection within " +
                        seconds_text(timeout) + "; check that the device is awake and reachable");
    }
    if (connect_error) {
        throw Error(ErrorKind::connection_failed,
                    "could not connect to " + std::string(what) + " at " + endpoint + ": " +
                        connect_error.message() + "; scan for the device again");
    }
    socket.set_option(asio::ip::tcp::no_delay(true));
    co_return socket;
}

asio::awaitable<std::optional<HttpMessage>> exchange(asio::ip::tcp::socket& socket,
                                                     std::string_view data, HttpParser* parser,
                                                     Bytes& buffer,
                                                     std::chrono::milliseconds timeout) {
    Watchdog watchdog(socket, timeout);
    std::error_code ec;
    if (!data.empty()) {
        co_await asio::async_write(socket, asio::buffer(data.data(), data.size()),
                                   asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec && parser != nullptr) {
        std::array<std::uint8_t, 4096> chunk{};
        for (;;) {
            const std::size_t used = parser->feed(buffer);
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(used));
            if (parser->complete()) {
                co_return parser->take();
            }
            const std::size_t got = co_await socket.async_read_some(
                asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                break;
            }
            buffer.insert(buffer.end(), chunk.begin(),
                          chunk.begin() + static_cast<std::ptrdiff_t>(got));
        }
    }
    if (watchdog.expired()) {
        throw Error(ErrorKind::timeout,
                    "the device did not answer within " + seconds_text(timeout));
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        throw Error(ErrorKind::connection_lost, "the device closed the connection");
    }
    if (ec) {
        throw Error(ErrorKind::connection_failed, "talking to the device failed: " + ec.message());
    }
    co_return std::nullopt;
}

}  // namespace atv::dmap
