// The device side of AirPlay 2 as a tvOS 15 Apple TV plays it on its AirPlay port:
// /pair-pin-start shows a PIN, HAP pair-setup and pair-verify as TLV8 bodies over HTTP, then
// the connection continues in HAP frames with the Control keys. Transient pair-setup (PIN 3939,
// X-Apple-HKP: 4) encrypts the connection right after M4. Then the MRP tunnel: RTSP SETUP of
// the event channel and of the data channel, RECORD, /feedback, and MRP (the MRP fake's
// session) inside the data channel. Shares identity, PIN and paired clients with the MRP fake.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "airplay/legacy.hpp"
#include "fake_atv.hpp"
#include "hap/pair_setup.hpp"
#include "hap/pair_verify.hpp"
#include "hap/session.hpp"
#include "http/message.hpp"
#include "tcp_server.hpp"

namespace atv::fakes {

// What a control connection's session needs from its server for the tunnel: the ports of the
// event and data channels, and where to leave the keys for the connections that come there.
struct FakeTunnelHooks {
    std::uint16_t event_port = 0;
    std::uint16_t data_port = 0;
    std::function<void(const SecretBytes& shared)> expect_events;
    std::function<void(const SecretBytes& shared, std::uint64_t seed)> expect_data;
};

// One connection, socket-free: bytes from the client in, bytes to the client out.
class FakeAirPlaySession {
  public:
    explicit FakeAirPlaySession(FakeAtvState& state, FakeTunnelHooks* hooks = nullptr)
        : state_(state), hooks_(hooks) {}

    struct Output {
        Bytes bytes;
        bool close = false;
    };
    Output receive(ByteView data);

    [[nodiscard]] bool encrypted() const { return cipher_.has_value(); }
    // "METHOD target" of every request received, in order.
    [[nodiscard]] const std::vector<std::string>& requests_seen() const { return seen_; }

  private:
    void handle(const http::Request& request, Output& out);
    http::Response pair_setup(const http::Request& request);
    http::Response pair_verify(const http::Request& request);
    http::Response setup(const http::Request& request);
    http::Response legacy_setup(const http::Request& request);
    http::Response legacy_verify(const http::Request& request);
    void send(http::Response response, const http::Request& request, Output& out);

    FakeAtvState& state_;
    FakeTunnelHooks* hooks_;
    http::Reader reader_{http::Reader::Kind::request};
    SecretBytes shared_;  // what the tunnel's keys derive from, once verified
    std::optional<hap::HapFrameCipher> cipher_;
    std::optional<hap::SessionKeys> pending_keys_;  // take effect after the current answer
    std::optional<hap::PairSetupAccessory> setup_;
    std::optional<hap::PairVerifyAccessory> verify_;
    // Legacy pairing: the SRP exchange, then the X25519 exchange of verify.
    std::string legacy_user_;
    std::optional<hap::SrpServer> legacy_srp_;
    bool legacy_proven_ = false;
    struct LegacyVerify {
        Bytes client_exchange;
        Bytes client_signing;
        Bytes device_exchange;
        std::unique_ptr<airplay::legacy::VerifyStream> stream;
    };
    std::optional<LegacyVerify> legacy_verify_;
    bool pin_shown_ = false;
    std::vector<std::string> seen_;
};

// Serves FakeAirPlaySession over TCP on one executor, for a state the caller owns.
class FakeAirPlay {
  public:
    FakeAirPlay(asio::any_io_executor executor, FakeAtvState& state, std::uint16_t port = 0);

    // Binds on the state's bind address and listens; throws std::system_error when taken.
    void start();
    [[nodiscard]] std::uint16_t port() const { return control_.port(); }
    [[nodiscard]] std::size_t open_connections() const {
        return control_.open_connections() + events_.open_connections() + data_.open_connections();
    }
    // "METHOD target" of every request received over all connections.
    [[nodiscard]] const std::vector<std::string>& requests_seen() const { return seen_; }
    // Answers to the requests the fake sent on event channels.
    [[nodiscard]] std::size_t event_answers() const { return event_answers_; }
    // Open data channels (MRP tunnels).
    [[nodiscard]] std::size_t open_tunnels() const { return open_tunnels_; }
    // Called with true when a data channel opens and false when it closes.
    void on_tunnel(std::function<void(bool open)> handler) { tunnel_handler_ = std::move(handler); }
    void drop_connections();
    asio::awaitable<void> stop();

  private:
    asio::awaitable<void> serve(asio::ip::tcp::socket& socket);
    asio::awaitable<void> serve_events(asio::ip::tcp::socket& socket);
    asio::awaitable<void> serve_data(asio::ip::tcp::socket& socket);

    FakeAtvState& state_;
    std::uint16_t requested_port_;
    // The control connection, and the event and data channels its SETUPs announce.
    TcpServer control_;
    TcpServer events_;
    TcpServer data_;
    FakeTunnelHooks hooks_;
    std::deque<SecretBytes> pending_events_;
    std::deque<std::pair<SecretBytes, std::uint64_t>> pending_data_;
    std::vector<std::string> seen_;
    std::size_t event_answers_ = 0;
    std::size_t open_tunnels_ = 0;
    std::function<void(bool)> tunnel_handler_;
};

}  // namespace atv::fakes
