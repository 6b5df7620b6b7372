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
#include "companion/control.hpp"
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
    CompanionControlOptions control;
};

// The installation's `_i`: 12 hex digits derived one way from its identity, so it never
// changes between runs and reveals nothing of the seed.
std::string remote_id_for(std::string_view client_id, ByteView seed);

// What the introduction learned about the session.
struct CompanionSession {
    std::uint64_t id = 0;  // (device session id << 32) | ours, from _sessionStart
    std::optional<AttentionState> attention;      // nullopt when the device has no handler for it
    std::vector<std::string> events;              // the events we registered interest in
    FocusState text_focus = FocusState::unknown;  // as the _tiStart reply told it
};

class CompanionConnection : public atv::ProtocolConnection {
  public:
    CompanionConnection(std::shared_ptr<CompanionChannel> channel, CompanionSession session,
                        std::shared_ptr<CompanionPushedState> pushed,
                        std::chrono::milliseconds session_stop_timeout,
                        CompanionControlOptions control_options = {});
    ~CompanionConnection() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::companion; }
    // Withdraws the event interests and stops the session, touch and text input (_sessionStop,
    // _touchStop, _tiStop, waiting at most the session stop timeout for all their answers), then
    // closes the socket. A close() or destruction meanwhile cuts the wait short.
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;
    // Power, apps, accounts, keys and media control over this link.
    [[nodiscard]] CompanionControl* control() override { return control_.get(); }

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
    // Declared last: it goes first, while the channel it uses still exists.
    std::unique_ptr<CompanionControl> control_;
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
