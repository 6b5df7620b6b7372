// An RTSP session with a RAOP (AirTunes) receiver, as protocols.md §8 describes it: RTSP
// OPTIONS, and `/auth-setup` where the receiver demands it (an AirPort Express listing MFiSAP).
// The TCP connection stays open until close(); the receiver closing it is a lost connection.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "atv/connection.hpp"
#include "atv/device.hpp"
#include "support/bytes.hpp"

namespace atv::raop {

// `et` lists 4 (MFiSAP) and `am` names an AirPort: only those want /auth-setup, and it harms
// other receivers (pyatv issue #1134).
bool needs_auth_setup(const Properties& properties);

// The body of /auth-setup: 0x01 then a Curve25519 public key (32 bytes).
Bytes auth_setup_body(ByteView public_key);

class RaopConnection : public atv::ProtocolConnection {
  public:
    explicit RaopConnection(asio::ip::tcp::socket socket);
    ~RaopConnection() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::raop; }
    asio::awaitable<void> close() override;
    void on_lost(std::function<void(const std::string& reason)> callback) override;

    // Watches the connection until close(); call once after construction.
    void start();

  private:
    struct Shared;
    std::shared_ptr<Shared> shared_;
};

// Connects, sends OPTIONS (and /auth-setup where needed) within `timeout`. Throws
// atv::Error: authentication_failed when the receiver wants a password (not supported yet),
// connection_failed or timeout when it cannot be reached or answers wrongly.
asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_raop(
    asio::any_io_executor executor, std::string address, std::uint16_t port, Properties properties,
    std::chrono::milliseconds timeout);

}  // namespace atv::raop
