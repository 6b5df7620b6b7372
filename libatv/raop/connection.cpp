#include "raop/connection.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "atv/discovery.hpp"
#include "atv/error.hpp"
#include "http/rtsp_session.hpp"
#include "http/transfer.hpp"
#include "support/loss_report.hpp"
#include "support/tcp.hpp"

namespace atv::raop {

namespace {

constexpr std::chrono::seconds request_timeout{4};

bool lists(std::string_view values, std::string_view wanted) {
    while (!values.empty()) {
        const std::size_t comma = values.find(',');
        if (values.substr(0, comma) == wanted) {
            return true;
        }
        values = comma == std::string_view::npos ? std::string_view() : values.substr(comma + 1);
    }
    return false;
}

void check_reply(const http::Response& reply, std::string_view what) {
    if (reply.status == 401 || reply.status == 403) {
        throw Error(ErrorKind::authentication_failed,
                    "the receiver wants a password for " + std::string(what) + " (HTTP " +
                        std::to_string(reply.status) + "); atvd cannot give RAOP passwords yet");
    }
    if (reply.status != 200) {
        throw Error(ErrorKind::connection_failed, "the receiver answered " + std::string(what) +
                                                      " with " + std::to_string(reply.status) +
                                                      " " + reply.reason);
    }
}

}  // namespace

bool needs_auth_setup(const Properties& properties) {
    const auto et = get_property(properties, "et");
    const auto am = get_property(properties, "am");
    return et && am && lists(*et, "4") && am->starts_with("AirPort");
}

Bytes auth_setup_body(ByteView public_key) {
    Bytes body(1 + public_key.size());
    body[0] = 0x01;
    std::copy(public_key.begin(), public_key.end(), body.begin() + 1);
    return body;
}

// The socket and the watcher's state, shared with the watching coroutine.
struct RaopConnection::Shared {
    explicit Shared(asio::ip::tcp::socket socket)
        : socket(std::move(socket)),
          watcher_done(this->socket.get_executor()),
          loss(this->socket.get_executor()) {
        watcher_done.expires_at(asio::steady_timer::time_point::max());
    }
    asio::ip::tcp::socket socket;
    bool watching = false;
    asio::steady_timer watcher_done;  // cancelled when the watcher ends
    LossReport loss;
};

RaopConnection::RaopConnection(asio::ip::tcp::socket socket)
    : shared_(std::make_shared<Shared>(std::move(socket))) {}

RaopConnection::~RaopConnection() {
    shared_->loss.close();
    std::error_code ignored;
    shared_->socket.close(ignored);
}

void RaopConnection::start() {
    shared_->watching = true;
    // A receiver sends nothing unasked while no stream runs: any read ends only when it closes.
    asio::co_spawn(
        shared_->socket.get_executor(),
        [shared = shared_]() -> asio::awaitable<void> {
            std::array<std::uint8_t, 512> chunk{};
            std::error_code ec;
            while (!ec) {
                co_await shared->socket.async_read_some(
                    asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
            }
            shared->watching = false;
            shared->watcher_done.cancel();
            shared->loss.lose("the RAOP receiver closed the connection (" + ec.message() + ")");
        },
        asio::detached);
}

void RaopConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    shared_->loss.on_lost(std::move(callback));
}

asio::awaitable<void> RaopConnection::close() {
    auto shared = shared_;
    if (shared->loss.closed()) {
        co_return;
    }
    shared->loss.close();
    std::error_code ignored;
    shared->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    shared->socket.close(ignored);
    if (shared->watching) {
        co_await shared->watcher_done.async_wait(
            asio::redirect_error(asio::use_awaitable, ignored));
    }
    spdlog::info("raop: session closed");
}

asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_raop(
    asio::any_io_executor executor, std::string address, std::uint16_t port, Properties properties,
    std::chrono::milliseconds timeout) {
    auto socket = co_await connect_tcp(executor, address, port, timeout, "the RAOP receiver");
    http::RtspSession session;
    const auto step_timeout = std::min<std::chrono::milliseconds>(timeout, request_timeout);
    http::Reader reader(http::Reader::Kind::response);
    const http::Request options_request = session.request("OPTIONS", "*");
    const auto options = co_await http::round_trip(socket, reader, options_request, step_timeout);
    check_reply(options, "OPTIONS");
    spdlog::debug("raop: {} offers {}", address, options.headers.get("Public").value_or("?"));
    if (needs_auth_setup(properties)) {
        // The receiver only needs a key to be offered; nothing is encrypted with it here.
        std::array<std::uint8_t, crypto_scalarmult_BYTES> public_key{};
        const SecretBytes secret(random_bytes(crypto_scalarmult_SCALARBYTES));
        crypto_scalarmult_base(public_key.data(), secret.data());
        http::Request auth_setup = session.request("POST", "/auth-setup", "HTTP/1.1");
        auth_setup.headers.add("Content-Type", "application/octet-stream");
        auth_setup.body = auth_setup_body(public_key);
        const auto reply = co_await http::round_trip(socket, reader, auth_setup, step_timeout);
        check_reply(reply, "/auth-setup");
    }
    spdlog::info("raop: connected to {}:{}", address, port);
    auto connection = std::make_unique<RaopConnection>(std::move(socket));
    connection->start();
    co_return connection;
}

}  // namespace atv::raop
