#include "dmap/connection.hpp"

#include <spdlog/spdlog.h>

#include "atv/error.hpp"
#include "dmap/tags.hpp"

namespace atv::dmap {

namespace {

constexpr std::chrono::seconds logout_timeout{2};

}  // namespace

std::map<std::string, std::string> request_headers(std::string_view address) {
    return {{"Host", std::string(address)},
            {"Accept", "*/*"},
            {"Client-DAAP-Version", "3.13"},
            {"Client-ATV-Sharing-Version", "1.2"},
            {"Client-iTunes-Sharing-Version", "3.15"},
            {"User-Agent", "Remote/1021"},
            {"Viewer-Only-Client", "1"}};
}

std::string login_target(std::string_view credentials) {
    if (credentials.starts_with("0x")) {
        return "/login?pairing-guid=" + std::string(credentials) + "&hasFP=1";
    }
    return "/login?hsgid=" + url_encode(credentials) + "&hasFP=1";
}

std::uint32_t parse_login_reply(ByteView body) {
    const Tag reply = decode_one(body, "mlog");
    const Tag* id = reply.find("mlid");
    if (id == nullptr) {
        throw Error(ErrorKind::connection_failed, "the DMAP login reply carries no session id");
    }
    return static_cast<std::uint32_t>(id->as_uint());
}

asio::awaitable<HttpMessage> http_get(asio::any_io_executor executor, const std::string& address,
                                      std::uint16_t port, std::string_view target,
                                      std::chrono::milliseconds timeout) {
    auto socket = co_await connect_within(executor, address, port, timeout, "the DMAP service");
    auto headers = request_headers(address);
    headers.emplace("Connection", "close");
    const std::string request = format_request("GET", target, "HTTP/1.1", headers, {});
    HttpParser parser(HttpParser::Kind::response);
    Bytes buffer;
    auto reply = co_await exchange(socket, request, &parser, buffer, timeout);
    std::error_code ignored;
    socket.close(ignored);
    co_return std::move(*reply);
}

DmapConnection::DmapConnection(asio::any_io_executor executor, std::string address,
                               std::uint16_t port, std::uint32_t session_id)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      port_(port),
      session_id_(session_id) {}

DmapConnection::~DmapConnection() = default;

void DmapConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    on_lost_ = std::move(callback);
}

asio::awaitable<HttpMessage> DmapConnection::get(std::string_view target,
                                                 std::chrono::milliseconds timeout) {
    if (closed_) {
        throw Error(ErrorKind::invalid_state, "the DMAP session is closed");
    }
    std::string full(target);
    full += (full.find('?') == std::string::npos ? "?" : "&");
    full += "session-id=" + std::to_string(session_id_);
    co_return co_await http_get(executor_, address_, port_, full, timeout);
}

asio::awaitable<void> DmapConnection::close() {
    if (closed_) {
        co_return;
    }
    try {
        const HttpMessage reply = co_await get("/logout", logout_timeout);
        spdlog::debug("dmap: logged out of {} ({})", address_, reply.status);
    } catch (const std::exception& error) {
        spdlog::info("dmap: logging out of {} failed: {}", address_, error.what());
    }
    closed_ = true;
    on_lost_ = nullptr;
}

asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_dmap(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::string credentials, std::chrono::milliseconds timeout) {
    const HttpMessage reply =
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
    const HttpMessage status =
        co_await connection->get("/ctrl-int/1/playstatusupdate?revision-number=0", timeout);
    if (status.status != 200) {
        co_await connection->close();
        throw Error(ErrorKind::connection_failed,
                    "the Apple TV answered the first play status "
                    "with HTTP " +
                        std::to_string(status.status));
    }
    (void)decode_one(status.body, "cmst");
    spdlog::info("dmap: logged in to {}:{}", address, port);
    co_return connection;
}

}  // namespace atv::dmap
