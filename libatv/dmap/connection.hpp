// A DMAP session with an Apple TV (protocols.md §7.3): `/login` with the pairing GUID (or the
// Home Sharing id) yields a session id that every later request carries; `/logout` ends it.
// DMAP is plain request and reply over HTTP, so the session is not tied to one TCP connection:
// each exchange opens its own. While connected, a play status long poll watches the session as a
// remote's push updates do: the device answers it when what plays changes, and a reset, a refused
// connection or a refused session means the session is lost.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "atv/connection.hpp"
#include "http/message.hpp"
#include "support/bytes.hpp"

namespace atv::dmap {

// "/login?pairing-guid=0x…&hasFP=1" or "/login?hsgid=<uuid>&hasFP=1", by the credentials' form.
std::string login_target(std::string_view credentials);
// The session id of a /login reply body (mlog → mlid). Throws atv::Error(connection_failed).
std::uint32_t parse_login_reply(ByteView body);

// How long one play status poll may wait for a change before it is asked anew; a device gone
// without a word is noticed when the next poll cannot connect.
inline constexpr std::chrono::seconds default_play_status_wait{60};

class PlayStatusWatch;
class DmapControl;
struct Tag;

class DmapConnection : public atv::ProtocolConnection {
  public:
    DmapConnection(asio::any_io_executor executor, std::string address, std::uint16_t port,
                   std::uint32_t session_id);
    ~DmapConnection() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::dmap; }
    // Starts the play status long poll from `revision` (cmsr of the last play status); every
    // play status it receives goes to the control.
    void watch(std::uint32_t revision, std::chrono::milliseconds poll_wait);
    // Stops the watch, then logs out (best effort: the session is gone on our side either way).
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;

    [[nodiscard]] std::uint32_t session_id() const { return session_id_; }
    // One GET with the session id appended; the reply, whatever its status.
    asio::awaitable<http::Response> get(std::string_view target, std::chrono::milliseconds timeout);
    // One POST (form-encoded, as the Remote app sends its commands) with the session id appended.
    asio::awaitable<http::Response> post(std::string_view target, Bytes body,
                                         std::chrono::milliseconds timeout);

    // Play, keys, what is playing and volume over this session.
    [[nodiscard]] Control* control() override;
    [[nodiscard]] DmapControl& dmap_control() { return *control_; }

  private:
    [[nodiscard]] std::string with_session(std::string_view target) const;
    void ensure_open() const;

    asio::any_io_executor executor_;
    std::string address_;
    std::uint16_t port_;
    std::uint32_t session_id_;
    bool closed_ = false;
    std::shared_ptr<PlayStatusWatch> watch_;
    std::unique_ptr<DmapControl> control_;
};

// Logs in and asks for the play status once, within `timeout` each, then watches the session.
// Throws atv::Error: authentication_failed when the device refuses the credentials,
// connection_failed or timeout when it cannot be reached or does not answer.
asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_dmap(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::string credentials, std::chrono::milliseconds timeout,
    std::chrono::milliseconds play_status_wait = default_play_status_wait);

// One GET to address:port within `timeout`, on a connection of its own, with the headers of
// Apple's Remote app (protocols-control.md §5); the reply's gzip body decoded. Throws
// atv::Error(connection_failed) on a reply body that is corrupt, truncated or too large decoded.
asio::awaitable<http::Response> http_get(asio::any_io_executor executor, const std::string& address,
                                         std::uint16_t port, std::string_view target,
                                         std::chrono::milliseconds timeout);
// The same with any method and a body; a POST says its body is form-encoded, as the Remote
// app's commands do.
asio::awaitable<http::Response> http_request(asio::any_io_executor executor,
                                             const std::string& address, std::uint16_t port,
                                             std::string_view method, std::string_view target,
                                             Bytes body, std::chrono::milliseconds timeout);

}  // namespace atv::dmap
