// An established Companion session with an Apple TV: verified with stored credentials,
// encrypted, introduced with the first messages a remote sends (protocols.md §6.5).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atv/connection.hpp"
#include "companion/channel.hpp"
#include "hap/credentials.hpp"
#include "support/bytes.hpp"

namespace atv::companion {

// The wait for the device's answers to _sessionStop, _touchStop and _tiStop when closing.
inline constexpr std::chrono::milliseconds default_session_stop_timeout{1000};

struct CompanionConnectOptions {
    std::string client_name = "atvd";
    std::string model = "atvd";
    // `_i` of _systemInfo: 12 hex digits that stay the same for this installation (see
    // remote_id_for); a device pushes no power events to a client whose id changes or is null.
    std::string remote_id;
    std::chrono::milliseconds session_stop_timeout = default_session_stop_timeout;
};

// The installation's `_i`: 12 hex digits derived one way from its identity, so it never
// changes between runs and reveals nothing of the seed.
std::string remote_id_for(std::string_view client_id, ByteView seed);

// The device's attention state (FetchAttentionState `_c.state`).
enum class AttentionState : std::uint8_t { asleep = 1, screensaver = 2, awake = 3, idle = 4 };

// The bits of `_mcF` in the device's `_iMC` event: the media controls usable now.
namespace media_control_flag {
inline constexpr std::uint32_t play = 0x0001;
inline constexpr std::uint32_t pause = 0x0002;
inline constexpr std::uint32_t next_track = 0x0004;
inline constexpr std::uint32_t previous_track = 0x0008;
inline constexpr std::uint32_t fast_forward = 0x0010;
inline constexpr std::uint32_t rewind = 0x0020;
inline constexpr std::uint32_t volume = 0x0100;
inline constexpr std::uint32_t skip_forward = 0x0200;
inline constexpr std::uint32_t skip_backward = 0x0400;
}  // namespace media_control_flag

// What the device pushes in events of its own accord, kept as the latest value of each. The
// channel's event handler fills it from the introduction on, before the connection exists.
struct CompanionPushedState {
    std::optional<std::uint32_t> media_control_flags;  // `_mcF` of the last `_iMC` event
};

// What the introduction learned about the session.
struct CompanionSession {
    std::uint64_t id = 0;  // (device session id << 32) | ours, from _sessionStart
    std::optional<AttentionState> attention;  // nullopt when the device has no handler for it
    std::vector<std::string> events;          // the events we registered interest in
};

class CompanionConnection : public atv::ProtocolConnection {
  public:
    CompanionConnection(std::shared_ptr<CompanionChannel> channel, CompanionSession session,
                        std::shared_ptr<const CompanionPushedState> pushed,
                        std::chrono::milliseconds session_stop_timeout)
        : channel_(std::move(channel)),
          session_(std::move(session)),
          pushed_(std::move(pushed)),
          session_stop_timeout_(session_stop_timeout) {}
    ~CompanionConnection() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::companion; }
    // Withdraws the event interests and stops the session, touch and text input (_sessionStop,
    // _touchStop, _tiStop, waiting at most the session stop timeout for all their answers), then
    // closes the socket. A close() or destruction meanwhile cuts the wait short.
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;

    [[nodiscard]] CompanionChannel& channel() { return *channel_; }
    [[nodiscard]] std::uint64_t session_id() const { return session_.id; }
    [[nodiscard]] std::optional<AttentionState> attention() const { return session_.attention; }
    // The media controls the device last said are usable (media_control_flag bits); nullopt
    // until its first `_iMC` event.
    [[nodiscard]] std::optional<std::uint32_t> media_control_flags() const {
        return pushed_->media_control_flags;
    }

  private:
    asio::awaitable<void> stop_session(CompanionChannel& channel);

    std::shared_ptr<CompanionChannel> channel_;
    CompanionSession session_;
    std::shared_ptr<const CompanionPushedState> pushed_;
    std::chrono::milliseconds session_stop_timeout_;
    bool stopping_ = false;
};

// TCP, PV_Start/PV_Next verify, session keys, then the introduction of §6.5: _systemInfo,
// _touchStart, _sessionStart, TVRCSessionStart, _tiStart, interest in _iMC, FetchAttentionState
// and interest in SystemStatus and TVSystemStatus; the `_iMC` events are kept from then on.
// `timeout` bounds the TCP connect; each exchange waits at most min(timeout, 5 s). Throws
// atv::Error: authentication_failed when the device rejects the credentials, connection_failed when
// it cannot be reached, drops the connection or refuses a required step, timeout when it does not
// answer.
asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout,
    std::string remote_id);

asio::awaitable<std::unique_ptr<CompanionConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout,
    CompanionConnectOptions options);

}  // namespace atv::companion
