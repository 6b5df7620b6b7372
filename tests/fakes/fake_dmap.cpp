#include "fake_dmap.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <string_view>
#include <utility>

#include "atv/error.hpp"
#include "dmap/tags.hpp"
#include "http/content_encoding.hpp"
#include "http/transfer.hpp"

namespace atv::fakes {

namespace {

constexpr std::uint32_t status_ok = 200;

// The headers Apple's Remote app sends with every request, which the device insists on.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> remote_headers{{
    {"Accept", "*/*"},
    {"Accept-Encoding", "gzip"},
    {"Client-DAAP-Version", "3.13"},
    {"Client-ATV-Sharing-Version", "1.2"},
    {"Client-iTunes-Sharing-Version", "3.15"},
    {"User-Agent", "Remote/1021"},
    {"Viewer-Only-Client", "1"},
}};

// What is wrong with a request's headers, or nullopt when they are as a remote sends them.
std::optional<std::string> header_fault(const http::Request& request) {
    if (request.protocol == "HTTP/1.1" && request.headers.get("Host").value_or("").empty()) {
        return "no Host";
    }
    for (const auto& [name, expected] : remote_headers) {
        const auto value = request.headers.get(name);
        if (!value) {
            return "no " + std::string(name);
        }
        if (*value != expected) {
            return std::string(name) + " is \"" + std::string(*value) + "\", not \"" +
                   std::string(expected) + "\"";
        }
    }
    return std::nullopt;
}

http::Response tagged(int status, Bytes body) {
    return {.status = status,
            .reason = status == 200 ? "OK" : "Error",
            .headers = {{"Content-Type", "application/x-dmap-tagged"},
                        {"DAAP-Server", "iTunes/11.1b37 (OS X)"}},
            .body = std::move(body)};
}

http::Response empty(int status, std::string reason) {
    return {.status = status, .reason = std::move(reason)};
}

std::optional<std::uint32_t> session_of(const std::map<std::string, std::string>& query) {
    const auto found = query.find("session-id");
    if (found == query.end()) {
        return std::nullopt;
    }
    std::uint32_t id = 0;
    const std::string& text = found->second;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return id;
}

}  // namespace

http::Response FakeDmapService::answer(const http::Request& request) {
    if (const auto fault = header_fault(request)) {
        spdlog::warn("fake-dmap: refused {} {}: {}", request.method, request.path(), *fault);
        header_refusals_.push_back(*fault);
        return empty(400, "Bad Request");
    }
    http::Response reply = answer_remote(request);
    // Every request that got here asked for gzip, and the device sends it whenever asked.
    if (!reply.body.empty()) {
        reply.body = http::gzip_encode(reply.body);
        reply.headers.set("Content-Encoding", "gzip");
    }
    return reply;
}

http::Response FakeDmapService::answer_remote(const http::Request& request) {
    if (request.method != "GET") {
        return empty(405, "Method Not Allowed");
    }
    std::map<std::string, std::string> query;
    try {
        query = request.query();
    } catch (const Error&) {
        return empty(400, "Bad Request");
    }
    const std::string_view path = request.path();
    if (path == "/ctrl-int/1/playstatusupdate") {
        ++play_status_requests_;
    }
    if (path == "/login") {
        return login(query);
    }
    if (path == "/logout") {
        return logout(query);
    }
    if (path == "/server-info") {
        return tagged(200,
                      dmap::encode_container("msrv", {dmap::encode_uint("mstt", status_ok, 4),
                                                      dmap::encode_string("minm", config_.name)}));
    }
    const auto session = session_of(query);
    if (!session || !sessions_.contains(*session)) {
        return empty(403, "Forbidden");
    }
    if (path == "/ctrl-int/1/playstatusupdate") {
        constexpr std::uint8_t stopped = 2;
        return tagged(200, dmap::encode_container("cmst", {dmap::encode_uint("mstt", status_ok, 4),
                                                           dmap::encode_uint("cmsr", revision_, 4),
                                                           dmap::encode_uint("caps", stopped, 1)}));
    }
    return empty(404, "Not Found");
}

bool FakeDmapService::holds(const http::Request& request) const {
    if (request.path() != "/ctrl-int/1/playstatusupdate" || header_fault(request)) {
        return false;
    }
    std::map<std::string, std::string> query;
    try {
        query = request.query();
    } catch (const Error&) {
        return false;
    }
    const auto session = session_of(query);
    const auto revision = query.find("revision-number");
    return session && sessions_.contains(*session) && revision != query.end() &&
           revision->second == std::to_string(revision_);
}

http::Response FakeDmapService::login(const std::map<std::string, std::string>& query) {
    std::string presented;
    if (const auto guid = query.find("pairing-guid"); guid != query.end()) {
        presented = guid->second;
    } else if (const auto hsgid = query.find("hsgid"); hsgid != query.end()) {
        presented = hsgid->second;
    }
    if (presented.empty() || !config_.credentials.contains(presented)) {
        spdlog::info("fake-dmap: refused a login");
        return empty(503, "Service Unavailable");
    }
    const std::uint32_t session = next_session_++;
    sessions_.insert(session);
    event("LOGIN " + std::to_string(session));
    return tagged(200, dmap::encode_container("mlog", {dmap::encode_uint("mstt", status_ok, 4),
                                                       dmap::encode_uint("mlid", session, 4)}));
}

http::Response FakeDmapService::logout(const std::map<std::string, std::string>& query) {
    const auto session = session_of(query);
    if (!session || sessions_.erase(*session) == 0) {
        return empty(403, "Forbidden");
    }
    event("LOGOUT " + std::to_string(*session));
    return empty(204, "No Content");
}

void FakeDmapService::event(const std::string& text) {
    spdlog::info("fake-dmap: {}", text);
    if (event_) {
        event_(text);
    }
}

FakeDmap::FakeDmap(asio::any_io_executor executor, FakeDmapConfig config)
    : executor_(executor), service_(std::move(config)), server_(executor, "fake-dmap") {}

void FakeDmap::start() {
    server_.start(service_.config().bind_address, service_.config().port,
                  [this](asio::ip::tcp::socket& socket) { return serve(socket); });
}

asio::awaitable<void> FakeDmap::serve(asio::ip::tcp::socket& socket) {
    http::Reader reader(http::Reader::Kind::request);
    try {
        while (!stopping_) {
            const http::Request request =
                co_await http::read_request(socket, reader, std::chrono::seconds(30));
            co_await hold_while_unchanged(request, socket);
            if (stopping_ || !socket.is_open())
                break;
            const http::Response reply = service_.answer(request);
            co_await http::send_response(socket, reply, std::chrono::seconds(5));
            if (request.headers.get("Connection").value_or("") == "close")
                break;
        }
    } catch (const Error& error) {
        spdlog::debug("fake-dmap: connection ended: {}", error.what());
    }
}

asio::awaitable<void> FakeDmap::hold_while_unchanged(const http::Request& request,
                                                     const asio::ip::tcp::socket& socket) {
    asio::steady_timer wake(executor_);
    while (!stopping_ && socket.is_open() && service_.holds(request)) {
        wake.expires_at(asio::steady_timer::time_point::max());
        held_.insert(&wake);
        std::error_code ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        held_.erase(&wake);
    }
}

void FakeDmap::wake_held() {
    for (asio::steady_timer* timer : held_)
        timer->cancel();
}

void FakeDmap::change_playing() {
    service_.change_playing();
    wake_held();
}

void FakeDmap::forget_sessions() {
    service_.forget_sessions();
    wake_held();
}

void FakeDmap::drop_connections() {
    server_.drop_connections();
    wake_held();
}

asio::awaitable<void> FakeDmap::stop() {
    stopping_ = true;
    wake_held();
    co_await server_.stop();
}

}  // namespace atv::fakes
