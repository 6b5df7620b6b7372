// An established MRP session with an Apple TV: verified with stored credentials, encrypted,
// subscribed to updates and kept alive by heartbeats.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "atv/connection.hpp"
#include "hap/credentials.hpp"
#include "mrp/channel.hpp"
#include "mrp/control.hpp"

namespace atv::mrp {

struct MrpConnectOptions {
    std::string client_name = "atvd";
    std::chrono::milliseconds heartbeat_interval = default_heartbeat_interval;
};

class MrpConnection : public atv::ProtocolConnection {
  public:
    // `control` must be over `channel`; made here when not given.
    explicit MrpConnection(std::shared_ptr<MrpChannel> channel,
                           std::unique_ptr<MrpControl> control = nullptr);
    ~MrpConnection() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::mrp; }
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;
    [[nodiscard]] MrpControl* control() override { return control_.get(); }

    // The encrypted channel, for sending commands.
    [[nodiscard]] MrpChannel& channel() { return *channel_; }

  private:
    std::shared_ptr<MrpChannel> channel_;
    std::unique_ptr<MrpControl> control_;  // destroyed first: it unhooks from the channel
};

// Runs the connect sequence: TCP, DEVICE_INFO, pair-verify with `credentials`, MediaRemote
// keys, SET_CONNECTION_STATE, CLIENT_UPDATES_CONFIG, GET_KEYBOARD_SESSION, then heartbeats.
// `timeout` bounds the TCP connect; each exchange and heartbeat waits at most
// min(timeout, 5 s). Throws atv::Error:
// authentication_failed when the device rejects the credentials, connection_failed when the
// device cannot be reached or drops the connection, timeout when it does not answer.
asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_mrp(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout);

// What follows DEVICE_INFO and encryption: SET_CONNECTION_STATE, CLIENT_UPDATES_CONFIG and
// GET_KEYBOARD_SESSION. Also run inside AirPlay's tunnel, which brings its own encryption.
asio::awaitable<void> start_session(MrpChannel& channel, std::chrono::milliseconds timeout);

// Options by value: a coroutine keeps its parameters, and a reference could dangle.
asio::awaitable<std::unique_ptr<MrpConnection>> connect_mrp(asio::any_io_executor executor,
                                                            std::string address, std::uint16_t port,
                                                            const hap::HapCredentials& credentials,
                                                            std::chrono::milliseconds timeout,
                                                            MrpConnectOptions options);

}  // namespace atv::mrp
