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

#include "atv/connection.hpp"
#include "companion/channel.hpp"
#include "hap/credentials.hpp"

namespace atv::companion {

struct CompanionConnectOptions {
    std::string client_name = "atvd";
    std::string model = "atvd";
    // `_i` of _systemInfo: a stable 12-hex-digit id; random per connection when empty.
    std::string remote_id;
};

class CompanionConnection : public atv::ProtocolConnection {
  public:
    CompanionConnection(std::shared_ptr<CompanionChannel> channel, std::uint64_t session_id)
        : channel_(std::move(channel)), session_id_(session_id) {}
    ~CompanionConnection() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::companion; }
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;

    [[nodiscard]] CompanionChannel& channel() { return *channel_; }
    // (device session id << 32) | ours, from _sessionStart.
    [[nodiscard]] std::uint64_t session_id() const { return session_id_; }

  private:
    std::shared_ptr<CompanionChannel> channel_;
    std::uint64_t session_id_;
};

// TCP, PV_Start/PV_Next verify, session keys, then _systemInfo, _sessionStart, _interest.
// `timeout` bounds the TCP connect; each exchange waits at most min(timeout, 5 s). Throws
// atv::Error: authentication_failed when the device rejects the credentials,
// connection_failed when it cannot be reached or drops the connection, timeout when it does
// not answer.
asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout);

asio::awaitable<std::unique_ptr<CompanionConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout,
    CompanionConnectOptions options);

}  // namespace atv::companion
