#include "dmap/connection.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <utility>

#include "atv/error.hpp"
#include "dmap/control.hpp"
#include "dmap/tags.hpp"
#include "http/content_encoding.hpp"
#include "http/transfer.hpp"
#include "support/loss_report.hpp"
#include "support/tcp.hpp"

namespace atv::dmap {

namespace {

constexpr std::chrono::seconds logout_timeout{2};
constexpr std::chrono::seconds poll_connect_timeout{5};
// A device that answers a poll without a change is asked again after this pause, not at once.
constexpr std::chrono::seconds unchanged_poll_pause{1};

// Replies are gzip-encoded, as the headers ask; decoded, none is near this size.
constexpr std::size_t max_reply_size = http::default_max_decoded_body;

// HTTP/1.1's Host: the address, bracketed when it is IPv6, and the port.
std::string host_header(const std::string& address, std::uint16_t port) {
    const bool ipv6 = address.find(':') != std::string::npos;
    return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// One request on a connected socket with the headers Apple's Remote app sends, which an Apple
// TV checks; the reply within `timeout`, its body decoded.
asio::awaitable<http::Response> exchange_on(asio::ip::tcp::socket& socket,
                                            const std::string& address, std::uint16_t port,
                                            std::string_view method, std::string_view target,
                                            Bytes body, std::chrono::milliseconds timeout) {
    http::Request request;
    request.method = method;
    request.target = target;
    request.headers = {{"Host", host_header(address, port)},
                       {"Accept", "*/*"},
                       {"Accept-Encoding", "gzip"},
                       {"Client-DAAP-Version", "3.13"},
                       {"Client-ATV-Sharing-Version", "1.2"},
                       {"Client-iTunes-Sharing-Version", "3.15"},
                       {"User-Agent", "Remote/1021"},
                       {"Viewer-Only-Client", "1"},
                       {"Connection", "close"}};
    if (method == "POST") {
        request.headers.add("Content-Type", "application/x-www-form-urlencoded");
    }
    request.body = std::move(body);
    http::Reader reader(http::Reader::Kind::response);
    auto exchanging = http::round_trip(socket, reader, request, timeout);
    http::Response reply = co_await std::move(exchanging);
    http::decode_body(reply, max_reply_size);
    co_return reply;
}

}  // namespace

// The play status long poll of a session. Its coroutine shares it, so it outlives close().
class PlayStatusWatch : public std::enable_shared_from_this<PlayStatusWatch> {
  public:
    PlayStatusWatch(asio::any_io_executor executor, std::string address, std::uint16_t port,
                    std::uint32_t session_id)
        : executor_(std::move(executor)),
          address_(std::move(address)),
          port_(port),
          session_id_(session_id),
          pause_(executor_),
          loss_(executor_) {}

    void start(std::uint32_t revision, std::chrono::milliseconds poll_wait);
    // Ends the poll at once; no loss is reported afterwards.
    void stop();
    void on_lost(std::function<void(const std::string&)> handler);
    // Called with the cmst of every play status the poll receives.
    void on_status(std::function<void(const Tag&)> handler) {
        status_handler_ = std::move(handler);
    }

  private:
    asio::awaitable<void> run(std::uint32_t revision);
    // The reply, or nullopt when nothing changed within the wait.
    asio::awaitable<std::optional<http::Response>> poll(std::uint32_t revision);
    // The play status of a reply; throws the reason when the reply says the session is gone.
    [[nodiscard]] static Tag play_status(const http::Response& reply);
    asio::awaitable<void> pause();
    void close_socket();
    void lose(const std::string& reason);

    asio::any_io_executor executor_;
    std::string address_;
    std::uint16_t port_;
    std::uint32_t session_id_;
    std::chrono::milliseconds poll_wait_{default_play_status_wait};
    std::optional<asio::ip::tcp::socket> socket_;
    asio::steady_timer pause_;
    LossReport loss_;
    std::function<void(const Tag&)> status_handler_;
};

void PlayStatusWatch::start(std::uint32_t revision, std::chrono::milliseconds poll_wait) {
    poll_wait_ = poll_wait;
    asio::co_spawn(
        executor_, [self = shared_from_this(), revision] { return self->run(revision); },
        asio::detached);
}

asio::awaitable<void> PlayStatusWatch::run(std::uint32_t revision) {
    while (!loss_.closed()) {
        try {
            auto polling = poll(revision);
            const std::optional<http::Response> reply = co_await std::move(polling);
            if (loss_.closed()) {
                co_return;
            }
            if (reply) {
                const Tag status = play_status(*reply);
                if (status_handler_) {
                    status_handler_(status);
                }
                const Tag* changed = status.find("cmsr");
                const std::uint32_t next =
                    changed != nullptr ? static_cast<std::uint32_t>(changed->as_uint()) : revision;
                if (next == revision) {
                    co_await pause();
                }
                revision = next;
            }
        } catch (const std::exception& error) {
            lose(error.what());
            co_return;
        }
    }
}

asio::awaitable<std::optional<http::Response>> PlayStatusWatch::poll(std::uint32_t revision) {
    try {
        auto connecting =
            connect_tcp(executor_, address_, port_, poll_connect_timeout, "the DMAP service");
        socket_.emplace(co_await std::move(connecting));
    } catch (const Error& error) {
        throw Error(ErrorKind::connection_lost,
                    std::string("the Apple TV no longer takes DMAP connections: ") + error.what());
    }
    if (loss_.closed()) {
        close_socket();
        co_return std::nullopt;
    }
    const std::string target =
        "/ctrl-int/1/playstatusupdate?revision-number=" + std::to_string(revision) +
        "&session-id=" + std::to_string(session_id_);
    std::optional<http::Response> reply;
    try {
        auto getting = exchange_on(*socket_, address_, port_, "GET", target, {}, poll_wait_);
        reply = co_await std::move(getting);
    } catch (const Error& error) {
        close_socket();
        if (error.kind() != ErrorKind::timeout) {
            throw Error(
                ErrorKind::connection_lost,
                std::string("the Apple TV dropped the DMAP play status poll: ") + error.what());
        }
    }
    close_socket();
    co_return reply;
}

Tag PlayStatusWatch::play_status(const http::Response& reply) {
    if (reply.status == 401 || reply.status == 403) {
        throw Error(ErrorKind::connection_lost, "the Apple TV ended the DMAP session (HTTP " +
                                                    std::to_string(reply.status) + ")");
    }
    if (reply.status != 200) {
        throw Error(ErrorKind::connection_lost, "the Apple TV answered the play status with HTTP " +
                                                    std::to_string(reply.status));
    }
    return decode_one(reply.body, "cmst");
}

asio::awaitable<void> PlayStatusWatch::pause() {
    pause_.expires_after(unchanged_poll_pause);
    std::error_code ignored;
    co_await pause_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void PlayStatusWatch::close_socket() {
    if (socket_) {
        std::error_code ignored;
        socket_->close(ignored);
        socket_.reset();
    }
}

void PlayStatusWatch::stop() {
    loss_.close();
    status_handler_ = nullptr;
    close_socket();
    pause_.cancel();
}

void PlayStatusWatch::lose(const std::string& reason) {
    if (loss_.lose(reason)) {
        spdlog::info("dmap: session with {} lost: {}", address_, reason);
    }
}

void PlayStatusWatch::on_lost(std::function<void(const std::string&)> handler) {
    loss_.on_lost(std::move(handler));
}

std::string login_target(std::string_view credentials) {
    if (credentials.starts_with("0x")) {
        return "/login?pairing-guid=" + std::string(credentials) + "&hasFP=1";
    }
    return "/login?hsgid=" + http::url_encode(credentials) + "&hasFP=1";
}

std::uint32_t parse_login_reply(ByteView body) {
    const Tag reply = decode_one(body, "mlog");
    const Tag* id = reply.find("mlid");
    if (id == nullptr) {
        throw Error(ErrorKind::connection_failed, "the DMAP login reply carries no session id");
    }
    return static_cast<std::uint32_t>(id->as_uint());
}

asio::awaitable<http::Response> http_get(asio::any_io_executor executor, const std::string& address,
                                         std::uint16_t port, std::string_view target,
                                         std::chrono::milliseconds timeout) {
    co_return co_await http_request(std::move(executor), address, port, "GET", target, {}, timeout);
}

asio::awaitable<http::Response> http_request(asio::any_io_executor executor,
                                             const std::string& address, std::uint16_t port,
                                             std::string_view method, std::string_view target,
                                             Bytes body, std::chrono::milliseconds timeout) {
    auto connecting = connect_tcp(executor, address, port, timeout, "the DMAP service");
    auto socket = co_await std::move(connecting);
    auto exchanging = exchange_on(socket, address, port, method, target, std::move(body), timeout);
    http::Response reply = co_await std::move(exchanging);
    std::error_code ignored;
    socket.close(ignored);
    co_return reply;
}

DmapConnection::DmapConnection(asio::any_io_executor executor, std::string address,
                               std::uint16_t port, std::uint32_t session_id)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      port_(port),
      session_id_(session_id),
      watch_(std::make_shared<PlayStatusWatch>(executor_, address_, port_, session_id_)),
      control_(std::make_unique<DmapControl>(*this, executor_)) {
    watch_->on_status([this](const Tag& status) { control_->update(status); });
}

DmapConnection::~DmapConnection() {
    watch_->stop();
}

void DmapConnection::watch(std::uint32_t revision, std::chrono::milliseconds poll_wait) {
    watch_->start(revision, poll_wait);
}

void DmapConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    watch_->on_lost(std::move(callback));
}

Control* DmapConnection::control() {
    return control_.get();
}

void DmapConnection::ensure_open() const {
    if (closed_) {
        throw Error(ErrorKind::invalid_state, "the DMAP session is closed");
    }
}

std::string DmapConnection::with_session(std::string_view target) const {
    std::string full(target);
    full += (full.find('?') == std::string::npos ? "?" : "&");
    full += "session-id=" + std::to_string(session_id_);
    return full;
}

asio::awaitable<http::Response> DmapConnection::get(std::string_view target,
                                                    std::chrono::milliseconds timeout) {
    ensure_open();
    co_return co_await http_get(executor_, address_, port_, with_session(target), timeout);
}

asio::awaitable<http::Response> DmapConnection::post(std::string_view target, Bytes body,
                                                     std::chrono::milliseconds timeout) {
    ensure_open();
    co_return co_await http_request(executor_, address_, port_, "POST", with_session(target),
                                    std::move(body), timeout);
}

asio::awaitable<void> DmapConnection::close() {
    if (closed_) {
        co_return;
    }
    watch_->stop();
    try {
        const http::Response reply = co_await get("/logout", logout_timeout);
        spdlog::debug("dmap: logged out of {} ({})", address_, reply.status);
    } catch (const std::exception& error) {
        spdlog::info("dmap: logging out of {} failed: {}", address_, error.what());
    }
    closed_ = true;
}

asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_dmap(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::string credentials, std::chrono::milliseconds timeout,
    std::chrono::milliseconds play_status_wait) {
    const http::Response reply =
        co_await http_get(executor, address, port, login_target(credentials), timeout);
    if (reply.status == 401 || reply.status == 403 || reply.status == 503) {
        throw Error(ErrorKind::authentication_failed, "the Apple TV refused the DMAP login (HTTP " +
                                                          std::to_string(reply.status) +
                                                          "); pair dmap again");
    }
    if (reply.status != 200) {
        throw Error(
            ErrorKind::connection_failed,
            "the DMAP login failed with HTTP " + std::to_string(reply.status) + " " + reply.reason);
    }
    const std::uint32_t session = parse_login_reply(reply.body);
    auto connection = std::make_unique<DmapConnection>(executor, address, port, session);
    // As a remote does: one play status (revision 0 answers at once) proves the session works.
    const http::Response status =
        co_await connection->get("/ctrl-int/1/playstatusupdate?revision-number=0", timeout);
    if (status.status != 200) {
        co_await connection->close();
        throw Error(ErrorKind::connection_failed,
                    "the Apple TV answered the first play status "
                    "with HTTP " +
                        std::to_string(status.status));
    }
    const Tag playing = decode_one(status.body, "cmst");
    const Tag* revision = playing.find("cmsr");
    auto& control = connection->dmap_control();
    control.update(playing);
    co_await control.refresh_volume();
    connection->watch(revision != nullptr ? static_cast<std::uint32_t>(revision->as_uint()) : 0,
                      play_status_wait);
    spdlog::info("dmap: logged in to {}:{}", address, port);
    co_return connection;
}

}  // namespace atv::dmap
