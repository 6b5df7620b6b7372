// MRP through AirPlay 2 (tvOS 15 and later, HomePods; protocols.md §4.5): pair-verify (or a
// transient pair-setup) on the AirPlay port, the control connection in HAP frames, RTSP SETUP
// of the event and data streams, /feedback every 2 s, and the MRP session start inside the data
// channel, which brings its own encryption.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "atv/connection.hpp"
#include "hap/credentials.hpp"
#include "mrp/channel.hpp"

namespace atv::airplay {

struct TunnelOptions {
    std::string client_name = "atvd";
    std::chrono::milliseconds feedback_interval{2000};
};

class Tunnel;

class TunnelConnection : public atv::ProtocolConnection {
  public:
    explicit TunnelConnection(std::shared_ptr<Tunnel> tunnel);
    ~TunnelConnection() override;

    // The MRP session runs inside AirPlay: the connection is AirPlay's.
    [[nodiscard]] Protocol protocol() const override { return Protocol::airplay; }
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;

    // The MRP channel inside the tunnel, for sending commands.
    [[nodiscard]] mrp::MrpChannel& channel();
    // MRP's control, inside the tunnel.
    [[nodiscard]] Control* control() override;

  private:
    std::shared_ptr<Tunnel> tunnel_;
};

// Sets the tunnel up with stored HAP `credentials`, or with a transient pairing when there are
// none. `timeout` bounds the TCP connects; each exchange waits at most min(timeout, 5 s).
// Throws atv::Error: authentication_failed when the receiver refuses the credentials (HTTP 470
// included), connection_failed when it cannot be reached or drops a connection, timeout when it
// does not answer.
asio::awaitable<std::unique_ptr<TunnelConnection>> connect_tunnel(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::optional<hap::HapCredentials> credentials, std::chrono::milliseconds timeout,
    TunnelOptions options);

}  // namespace atv::airplay
