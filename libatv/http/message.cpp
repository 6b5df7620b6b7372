#include "http/message.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "atv/error.hpp"

namespace atv::http {

namespace {

constexpr std::string_view crlf = "\r\n";

[[noreturn]] void malformed(const std::string& what) {
    throw Error(ErrorKind::connection_failed, "malformed HTTP/RTSP message from the peer: " + what);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

// RFC 9110 token characters: what a method or a header name may consist of.
bool is_token(std::string_view text) {
    constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::ranges::all_of(text, [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               extra.find(c) != std::string_view::npos;
    });
}

// Visible characters, spaces and tabs: no control characters in values or reasons.
bool is_text(std::string_view text) {
    return std::ranges::all_of(text, [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
    });
}

bool is_protocol(std::string_view text) {
    return text == "HTTP/1.1" || text == "HTTP/1.0" || text == "RTSP/1.0";
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

std::size_t parse_content_length(std::string_view text, std::size_t max_body) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
        malformed("Content-Length is not a number");
    }
    if (value > max_body) {
        malformed("a body of " + std::to_string(value) + " bytes is over the limit of " +
                  std::to_string(max_body));
    }
    return value;
}

void add_header_line(std::string_view line, Headers& headers) {
    if (line.front() == ' ' || line.front() == '\t') {
        malformed("folded header lines are not allowed");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
        malformed("a header line has no colon");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (!is_token(name))
        malformed("a header name has characters headers may not have");
    if (!is_text(value))
        malformed("a header value holds control characters");
    headers.add(std::string(name), std::string(value));
}

std::vector<std::string_view> split_start_line(std::string_view line) {
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i < 2; ++i) {
        const auto space = line.find(' ');
        if (space == std::string_view::npos)
            break;
        parts.push_back(line.substr(0, space));
        line.remove_prefix(space + 1);
    }
    parts.push_back(line);
    return parts;
}

void append(Bytes& out, std::string_view text) {
    out.insert(out.end(), text.begin(), text.end());
}

Bytes encode_message(const std::string& start_line, const Headers& headers, const Bytes& body,
                     bool with_length) {
    Bytes out;
    append(out, start_line);
    append(out, crlf);
    for (const auto& [name, value] : headers.items()) {
        if (equals_ignoring_case(name, "Content-Length"))
            continue;
        append(out, name);
        append(out, ": ");
        append(out, value);
        append(out, crlf);
    }
    if (with_length) {
        append(out, "Content-Length: " + std::to_string(body.size()));
        append(out, crlf);
    }
    append(out, crlf);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

// "%41" and "+" decoded, as in a query.
std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out.push_back(' ');
        } else if (text[i] != '%') {
            out.push_back(text[i]);
        } else {
            const auto escaped =
                text.size() - i >= 3 ? from_hex(text.substr(i + 1, 2)) : std::nullopt;
            if (!escaped) {
                malformed("a percent escape is not two hex digits");
            }
            out.push_back(static_cast<char>(escaped->front()));
            i += 2;
        }
    }
    return out;
}

}  // namespace

Headers::Headers(std::initializer_list<std::pair<std::string, std::string>> items)
    : items_(items) {}

void Headers::add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
    std::erase_if(items_, [&](const auto& item) { return equals_ignoring_case(item.first, name); });
    add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
    std::erase_if(items_, [&](const auto& item) { return equals_ignoring_case(item.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
    for (const auto& [key, value] : items_) {
        if (equals_ignoring_case(key, name))
            return value;
    }
    return std::nullopt;
}

std::string_view Request::path() const {
    return std::string_view(target).substr(0, target.find('?'));
}

std::map<std::string, std::string> Request::query() const {
    const std::size_t mark = target.find('?');
    if (mark == std::string::npos) {
        return {};
    }
    return parse_query(std::string_view(target).substr(mark + 1));
}

Bytes encode(const Request& request) {
    // RFC 9110 §8.6: no Content-Length on a request without content unless its method expects
    // some (POST, PUT), so a GET or an RTSP OPTIONS goes out as remotes send them.
    const bool with_length =
        !request.body.empty() || request.method == "POST" || request.method == "PUT";
    return encode_message(request.method + " " + request.target + " " + request.protocol,
                          request.headers, request.body, with_length);
}

Bytes encode(const Response& response) {
    return encode_message(
        response.protocol + " " + std::to_string(response.status) + " " + response.reason,
        response.headers, response.body, true);
}

Reader::Reader(Kind kind, Limits limits) : kind_(kind), limits_(limits) {}

void Reader::feed(ByteView bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
}

std::optional<Reader::Message> Reader::next_message() {
    const std::string_view text(reinterpret_cast<const char*>(pending_.data()), pending_.size());
    Message message;
    std::size_t position = 0;
    std::size_t lines = 0;
    while (true) {
        const auto end = text.find(crlf, position);
        const std::size_t length = (end == std::string_view::npos ? text.size() : end) - position;
        if (length > limits_.max_line) {
            malformed("a line is longer than " + std::to_string(limits_.max_line) + " bytes");
        }
        if (end == std::string_view::npos)
            return std::nullopt;
        const std::string_view line = text.substr(position, length);
        position = end + crlf.size();
        if (lines == 0) {
            if (line.empty())
                malformed("the message has no start line");
            if (!is_text(line))
                malformed("the start line holds control characters");
            message.start_line = std::string(line);
        } else if (line.empty()) {
            break;
        } else {
            if (lines > limits_.max_headers) {
                malformed("more than " + std::to_string(limits_.max_headers) + " headers");
            }
            add_header_line(line, message.headers);
        }
        ++lines;
    }
    if (message.headers.get("Transfer-Encoding")) {
        malformed("Transfer-Encoding is not supported");
    }
    std::size_t body_size = 0;
    bool length_seen = false;
    for (const auto& [name, value] : message.headers.items()) {
        if (!equals_ignoring_case(name, "Content-Length"))
            continue;
        const std::size_t size = parse_content_length(value, limits_.max_body);
        if (length_seen && size != body_size)
            malformed("two different Content-Length headers");
        body_size = size;
        length_seen = true;
    }
    if (pending_.size() - position < body_size)
        return std::nullopt;
    const auto body_begin = pending_.begin() + static_cast<std::ptrdiff_t>(position);
    const auto body_end = body_begin + static_cast<std::ptrdiff_t>(body_size);
    message.body.assign(body_begin, body_end);
    pending_.erase(pending_.begin(), body_end);
    return message;
}

std::optional<Request> Reader::next_request() {
    if (kind_ != Kind::request) {
        throw Error(ErrorKind::invalid_state, "this reader reads responses, not requests");
    }
    auto message = next_message();
    if (!message)
        return std::nullopt;
    const auto parts = split_start_line(message->start_line);
    if (parts.size() != 3 || !is_token(parts[0]) || parts[1].empty() ||
        parts[1].find_first_of(" \t") != std::string_view::npos || !is_protocol(parts[2])) {
        malformed("the request line is not METHOD TARGET PROTOCOL");
    }
    Request request;
    request.method = std::string(parts[0]);
    request.target = std::string(parts[1]);
    request.protocol = std::string(parts[2]);
    request.headers = std::move(message->headers);
    request.body = std::move(message->body);
    return request;
}

std::optional<Response> Reader::next_response() {
    if (kind_ != Kind::response) {
        throw Error(ErrorKind::invalid_state, "this reader reads requests, not responses");
    }
    auto message = next_message();
    if (!message)
        return std::nullopt;
    const auto parts = split_start_line(message->start_line);
    if (parts.size() < 2 || !is_protocol(parts[0]) || parts[1].size() != 3 ||
        !std::ranges::all_of(parts[1], [](char c) { return c >= '0' && c <= '9'; }) ||
        parts[1][0] == '0') {
        malformed("the status line is not PROTOCOL CODE REASON");
    }
    Response response;
    response.protocol = std::string(parts[0]);
    response.status = std::stoi(std::string(parts[1]));
    response.reason = parts.size() == 3 ? std::string(parts[2]) : std::string();
    response.headers = std::move(message->headers);
    response.body = std::move(message->body);
    return response;
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
    static constexpr std::string_view digits = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(digits[byte >> 4]);
            out.push_back(digits[byte & 0x0F]);
        }
    }
    return out;
}

}  // namespace atv::http
