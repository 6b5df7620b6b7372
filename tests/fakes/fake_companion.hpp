// The device side of the Companion link, as an Apple TV plays it: HAP pair-setup with a PIN in
// PS_* frames, pair-verify in PV_* frames, then encrypted E_OPACK requests (_systemInfo,
// _sessionStart, ...) and events. Shares identity, PIN and paired clients with the MRP fake.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "companion/auth.hpp"
#include "companion/frames.hpp"
#include "companion/opack.hpp"
#include "fake_atv.hpp"
#include "hap/pair_setup.hpp"
#include "hap/pair_verify.hpp"
#include "hap/session.hpp"

namespace atv::fakes {

// One connection, socket-free: bytes from the client in, bytes to the client out.
class FakeCompanionSession {
  public:
    explicit FakeCompanionSession(FakeAtvState& state) : state_(state) {}

    struct Output {
        Bytes bytes;
        bool close = false;
    };
    Output receive(ByteView data);

    [[nodiscard]] bool encrypted() const { return cipher_.has_value(); }
    // `_i` of every E_OPACK message received, in order.
    [[nodiscard]] const std::vector<std::string>& messages_seen() const { return seen_; }

  private:
    void handle(companion::FrameReader::Complete complete, Output& out);
    void handle_setup(ByteView tlv8, Output& out);
    void handle_verify(ByteView tlv8, bool first, Output& out);
    void handle_opack(const companion::OpackValue& message, Output& out);
    void send(companion::FrameType type, ByteView payload, Output& out);
    void send_auth(companion::FrameType type, ByteView tlv8, Output& out);

    FakeAtvState& state_;
    companion::FrameReader reader_;
    std::optional<hap::CompanionCipher> cipher_;
    std::optional<hap::PairSetupAccessory> setup_;
    std::optional<hap::PairVerifyAccessory> verify_;
    std::vector<std::string> seen_;
};

// Serves FakeCompanionSession over TCP on one executor, for a state the caller owns.
class FakeCompanion {
  public:
    FakeCompanion(asio::any_io_executor executor, FakeAtvState& state, std::uint16_t port = 0);
    ~FakeCompanion();

    // Binds on the state's bind address and listens; throws std::system_error when taken.
    void start();
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::size_t open_connections() const { return sockets_.size(); }
    // `_i` of every E_OPACK message received over all connections.
    [[nodiscard]] const std::vector<std::string>& messages_seen() const { return seen_; }
    void drop_connections();
    asio::awaitable<void> stop();

  private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::list<asio::ip::tcp::socket>::iterator socket);
    void task_finished();

    asio::any_io_executor executor_;
    FakeAtvState& state_;
    std::uint16_t requested_port_;
    asio::ip::tcp::acceptor acceptor_;
    std::list<asio::ip::tcp::socket> sockets_;
    std::vector<std::string> seen_;
    std::uint16_t port_ = 0;
    int active_tasks_ = 0;
    bool stopping_ = false;
    asio::steady_timer tasks_done_;
};

}  // namespace atv::fakes
