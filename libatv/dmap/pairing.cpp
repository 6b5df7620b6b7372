#include "dmap/pairing.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>
#include <cstdio>
#include <memory>
#include <regex>

#include "atv/error.hpp"
#include "dmap/tags.hpp"
#include "http/transfer.hpp"

namespace atv::dmap {

namespace {

constexpr std::size_t max_connections = 8;
constexpr std::chrono::seconds request_timeout{30};
constexpr std::chrono::seconds publish_timeout{10};

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string seconds_text(std::chrono::milliseconds timeout) {
    return std::to_string(timeout.count() / 1000) + " s";
}

// The instance name pyatv derives from an IPv4 address is a number zero-padded to 40 digits;
// the GUID's value takes its place, which also keeps two pairings apart.
std::string instance_name(std::string_view guid) {
    const std::uint64_t value = std::stoull(std::string(guid), nullptr, 16);
    std::string digits = std::to_string(value);
    return std::string(40 - digits.size(), '0') + digits;
}

}  // namespace

std::string normalize_guid(std::string_view guid) {
    if (guid.size() < 3 || guid.size() > 18 ||
        (guid.substr(0, 2) != "0x" && guid.substr(0, 2) != "0X") || !is_hex(guid.substr(2))) {
        throw Error(ErrorKind::invalid_arguments,
                    "a DMAP pairing GUID is 0x followed by up to 16 hex digits");
    }
    const std::string digits = upper(guid.substr(2));
    return std::string(16 - digits.size(), '0') + digits;
}

std::string random_guid() {
    return upper(to_hex(random_bytes(8)));
}

void validate_credentials(std::string_view credentials) {
    static const std::regex guid("0x[0-9A-Fa-f]{16}");
    static const std::regex home_sharing(
        "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}");
    const std::string text(credentials);
    if (!std::regex_match(text, guid) && !std::regex_match(text, home_sharing)) {
        throw Error(ErrorKind::invalid_arguments,
                    "DMAP credentials are 0x followed by 16 hex digits (a pairing GUID) or a "
                    "Home Sharing id (a UUID)");
    }
}

std::string pairing_code(std::string_view guid, std::string_view pin) {
    std::string input = upper(guid);
    for (char digit : pin) {
        input.push_back(digit);
        input.push_back('\0');
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_md5(), nullptr) != 1) {
        throw Error(ErrorKind::pairing_failed, "MD5 is not available from OpenSSL");
    }
    return to_hex(ByteView(digest, length));
}

Bytes pairing_reply(std::string_view guid, std::string_view name) {
    const std::uint64_t value = std::stoull(std::string(guid), nullptr, 16);
    return encode_container("cmpa", {encode_uint("cmpg", value, 8), encode_string("cmnm", name),
                                     encode_string("cmty", "iPhone")});
}

// The /pair endpoint. Shared with its coroutines, which may outlive the handler briefly.
struct DmapPairingHandler::Server : std::enable_shared_from_this<Server> {
    Server(asio::io_context& io, std::string guid, std::string name)
        : acceptor(io), guid(std::move(guid)), name(std::move(name)), done(io) {
        done.expires_at(asio::steady_timer::time_point::max());
    }

    asio::ip::tcp::acceptor acceptor;
    std::list<asio::ip::tcp::socket> sockets;
    std::string guid;
    std::string name;
    std::optional<std::string> pin;
    bool paired = false;
    bool closed = false;
    asio::steady_timer done;  // cancelled when paired or closed

    void start() {
        const asio::ip::tcp::endpoint any(asio::ip::tcp::v4(), 0);
        acceptor.open(any.protocol());
        acceptor.bind(any);
        acceptor.listen();
        asio::co_spawn(acceptor.get_executor(), accept_loop(shared_from_this()), asio::detached);
    }

    void stop() {
        closed = true;
        std::error_code ignored;
        acceptor.close(ignored);
        for (auto& socket : sockets) {
            socket.close(ignored);
        }
        done.cancel();
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<Server> self) {
        while (!self->closed) {
            std::error_code ec;
            asio::ip::tcp::socket socket =
                co_await self->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                co_return;
            }
            if (self->sockets.size() >= max_connections) {
                continue;  // dropped: the device opens one connection, not dozens
            }
            self->sockets.push_back(std::move(socket));
            asio::co_spawn(self->acceptor.get_executor(),
                           serve(self, std::prev(self->sockets.end())), asio::detached);
        }
    }

    static asio::awaitable<void> serve(std::shared_ptr<Server> self,
                                       std::list<asio::ip::tcp::socket>::iterator socket) {
        http::Reader reader(http::Reader::Kind::request, http::Limits{4096, 32, 0});
        try {
            while (!self->closed) {
                const http::Request request =
                    co_await http::read_request(*socket, reader, request_timeout);
                if (self->closed) {
                    break;
                }
                const http::Response reply = self->answer(request);
                co_await http::send_response(*socket, reply, request_timeout);
                if (lower(request.headers.get("Connection").value_or("")) == "close") {
                    break;
                }
            }
        } catch (const std::exception& error) {
            spdlog::debug("dmap: pairing connection ended: {}", error.what());
        }
        if (!self->closed) {
            std::error_code ignored;
            socket->close(ignored);
            self->sockets.erase(socket);
        }
    }

    http::Response answer(const http::Request& request) {
        if (request.path() != "/pair") {
            return {.status = 404, .reason = "Not Found"};
        }
        if (request.method != "GET") {
            return {.status = 405, .reason = "Method Not Allowed", .headers = {{"Allow", "GET"}}};
        }
        std::map<std::string, std::string> query;
        try {
            query = request.query();
        } catch (const Error&) {
            return {.status = 400, .reason = "Bad Request"};
        }
        const auto code = query.find("pairingcode");
        if (code == query.end()) {
            return {.status = 400, .reason = "Bad Request"};
        }
        const std::string service = query.contains("servicename") ? query["servicename"] : "?";
        if (!pin) {
            spdlog::warn("dmap: device {} called /pair before a PIN was set; refused", service);
            return {.status = 500, .reason = "Internal Server Error"};
        }
        if (lower(code->second) != pairing_code(guid, *pin)) {
            spdlog::warn("dmap: device {} sent a wrong pairing code (wrong PIN typed)", service);
            return {.status = 500, .reason = "Internal Server Error"};
        }
        spdlog::info("dmap: device {} paired", service);
        paired = true;
        done.cancel();
        return {.headers = {{"Content-Type", "application/x-dmap-tagged"}},
                .body = pairing_reply(guid, name)};
    }
};

DmapPairingHandler::DmapPairingHandler(asio::io_context& io, PairingOptions options,
                                       std::chrono::milliseconds timeout)
    : io_(io),
      options_(std::move(options)),
      guid_(options_.pairing_guid.empty() ? random_guid() : normalize_guid(options_.pairing_guid)),
      timeout_(timeout) {}

DmapPairingHandler::~DmapPairingHandler() {
    if (server_) {
        server_->stop();
    }
}

bool DmapPairingHandler::has_paired() const {
    return server_ && server_->paired;
}

std::uint16_t DmapPairingHandler::port() const {
    return server_ ? server_->acceptor.local_endpoint().port() : 0;
}

asio::awaitable<void> DmapPairingHandler::begin() {
    if (server_ && !server_->closed) {
        co_return;  // begun again after a failed finish(): the remote is still announced
    }
    auto server = std::make_shared<Server>(io_, guid_, options_.name);
    if (const auto& pending = pin_) {
        server->pin = pending;
    }
    server->start();
    server_ = server;
    ServiceAnnouncement announcement{instance_name(guid_),
                                     "_touch-remote._tcp",
                                     server->acceptor.local_endpoint().port(),
                                     {"DvNm=" + options_.name, "RemV=10000", "DvTy=iPod",
                                      "RemN=Remote", "txtvers=1", "Pair=" + guid_}};
    publisher_ = std::make_unique<RemotePublisher>(io_, std::move(announcement));
    try {
        co_await publisher_->publish(publish_timeout);
    } catch (...) {
        server->stop();
        server_.reset();
        publisher_.reset();
        throw;
    }
    spdlog::info("dmap: pick the remote '{}' on the Apple TV and type the PIN", options_.name);
}

void DmapPairingHandler::pin(const std::string& pin) {
    if (pin.empty() || pin.size() > 4 || !std::all_of(pin.begin(), pin.end(), [](unsigned char c) {
            return std::isdigit(c) != 0;
        })) {
        throw Error(ErrorKind::invalid_arguments, "a DMAP PIN has 1 to 4 digits");
    }
    const std::string padded = std::string(4 - pin.size(), '0') + pin;
    pin_ = padded;
    if (server_) {
        server_->pin = padded;
    }
}

asio::awaitable<void> DmapPairingHandler::finish() {
    if (!server_) {
        throw Error(ErrorKind::invalid_state, "call begin() before finish()");
    }
    auto server = server_;
    if (!server->paired && !server->closed) {
        server->done.expires_after(finish_wait());
        std::error_code ec;
        co_await server->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (server->paired) {
        spdlog::info("dmap: paired");
        co_return;
    }
    if (server->closed) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed before the device paired");
    }
    throw Error(ErrorKind::timeout, "the Apple TV did not pair within " +
                                        seconds_text(finish_wait()) + ": pick the remote '" +
                                        options_.name +
                                        "' in its Remote settings and type the PIN given with Pin");
}

asio::awaitable<void> DmapPairingHandler::close() {
    if (server_) {
        server_->stop();
    }
    publisher_.reset();  // withdraws _touch-remote._tcp
    co_return;
}

// Within the handler's timeout: the handler must still be there to report the outcome.
std::chrono::milliseconds DmapPairingHandler::finish_wait() const {
    return std::max(timeout_ - std::chrono::milliseconds(1000), timeout_ / 2);
}

std::string DmapPairingHandler::credentials() const {
    if (!has_paired()) {
        throw Error(ErrorKind::invalid_state, "no credentials: pairing has not completed");
    }
    return "0x" + guid_;
}

}  // namespace atv::dmap
