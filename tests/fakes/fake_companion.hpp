// The device side of the Companion link, as an Apple TV plays it: HAP pair-setup with a PIN in
// PS_* frames, pair-verify in PV_* frames, then encrypted E_OPACK requests (_systemInfo,
// _sessionStart, ...) and events. Shares identity, PIN and paired clients with the MRP fake.
// It records every message and checks the introduction of protocols.md §6.5 (order and
// required fields); a request that breaks a rule is refused with `_em` and noted. As a device,
// it reads the transaction id `_x` of every message, events included: a message without a fresh
// integer `_x` is refused (a request with `_em`, an event by being dropped), noted and logged.
// Interest in `_iMC` is answered with an `_iMC` event carrying the media control flags.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "companion/auth.hpp"
#include "companion/connection.hpp"
#include "companion/frames.hpp"
#include "companion/opack.hpp"
#include "fake_atv.hpp"
#include "hap/pair_setup.hpp"
#include "hap/pair_verify.hpp"
#include "hap/session.hpp"

namespace atv::fakes {

// The session id the fake answers _sessionStart with.
inline constexpr std::uint32_t fake_companion_session = 0x12345678;
// `_mcF` of the fake's `_iMC` event: an Apple TV playing a video on a TV whose volume it controls
// can play, pause, skip either way and change the volume.
inline constexpr std::uint32_t fake_media_control_flags =
    companion::media_control_flag::play | companion::media_control_flag::pause |
    companion::media_control_flag::skip_forward | companion::media_control_flag::skip_backward |
    companion::media_control_flag::volume;

// One E_OPACK message as the fake received it.
struct CompanionMessage {
    std::string identifier;                   // `_i`
    std::int64_t kind = 0;                    // `_t`: 1 event, 2 request
    companion::OpackValue content;            // `_c`
    std::optional<std::int64_t> transaction;  // `_x`; nullopt when missing or not an integer
};

// Requests (by `_i`) the fake answers differently from an Apple TV in good health.
struct FakeCompanionQuirks {
    std::set<std::string> unanswered;  // never answered, as by a stalled device
    std::set<std::string> refused;     // answered "No request handler", as by older tvOS
};

// One connection, socket-free: bytes from the client in, bytes to the client out.
class FakeCompanionSession {
  public:
    explicit FakeCompanionSession(FakeAtvState& state, FakeCompanionQuirks quirks = {})
        : state_(state), quirks_(std::move(quirks)) {}

    struct Output {
        Bytes bytes;
        bool close = false;
    };
    Output receive(ByteView data);

    [[nodiscard]] bool encrypted() const { return cipher_.has_value(); }
    // `_i` of every E_OPACK message received, in order.
    [[nodiscard]] const std::vector<std::string>& messages_seen() const { return seen_; }
    [[nodiscard]] const std::vector<CompanionMessage>& messages() const { return messages_; }
    // The rules of §6.5 the client broke, in words.
    [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
    // (our session id << 32) | the client's, once _sessionStart went through.
    [[nodiscard]] std::optional<std::uint64_t> session_id() const { return session_id_; }

  private:
    void handle(companion::FrameReader::Complete complete, Output& out);
    void handle_setup(ByteView tlv8, Output& out);
    void handle_verify(ByteView tlv8, bool first, Output& out);
    void handle_opack(const companion::OpackValue& message, Output& out);
    // Why the message's `_x` is not one a device accepts; nullopt when it is.
    std::optional<std::string> transaction_problem(const CompanionMessage& message,
                                                   const companion::OpackValue& raw) const;
    // Refuses a message as a device does: a request gets `_em`, an event is dropped.
    void refuse(const CompanionMessage& message, const std::string& reason, Output& out);
    // Why the message breaks the introduction's rules; nullopt when it keeps them.
    std::optional<std::string> check(const CompanionMessage& message) const;
    // Follows `_regEvents`/`_deregEvents`; registering `_iMC` pushes the media control flags.
    void update_interests(const CompanionMessage& message, Output& out);
    void answer(const CompanionMessage& message, const std::optional<std::string>& violation,
                Output& out);
    [[nodiscard]] bool seen(const std::string& identifier) const;
    void send(companion::FrameType type, ByteView payload, Output& out);
    void send_auth(companion::FrameType type, ByteView tlv8, Output& out);

    FakeAtvState& state_;
    companion::FrameReader reader_;
    std::optional<hap::CompanionCipher> cipher_;
    std::optional<hap::PairSetupAccessory> setup_;
    std::optional<hap::PairVerifyAccessory> verify_;
    FakeCompanionQuirks quirks_;
    std::vector<std::string> seen_;
    std::vector<std::string> accepted_;  // `_i` of the messages with a valid `_x`
    std::set<std::int64_t> transactions_;
    std::set<std::string> interests_;
    std::vector<CompanionMessage> messages_;
    std::vector<std::string> violations_;
    std::optional<std::uint64_t> session_id_;
};

// Serves FakeCompanionSession over TCP on one executor, for a state the caller owns.
class FakeCompanion {
  public:
    FakeCompanion(asio::any_io_executor executor, FakeAtvState& state, std::uint16_t port = 0);

    // Binds on the state's bind address and listens; throws std::system_error when taken.
    void start();
    [[nodiscard]] std::uint16_t port() const { return server_.port(); }
    [[nodiscard]] std::size_t open_connections() const { return server_.open_connections(); }
    // `_i` of every E_OPACK message received over all connections.
    [[nodiscard]] const std::vector<std::string>& messages_seen() const { return seen_; }
    [[nodiscard]] const std::vector<CompanionMessage>& messages() const { return messages_; }
    [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
    // How requests are answered on the connections accepted from now on.
    void set_quirks(FakeCompanionQuirks quirks) { quirks_ = std::move(quirks); }
    // Called with the session id of every _sessionStop received.
    void on_session_stop(std::function<void(std::uint64_t session_id)> callback) {
        session_stop_ = std::move(callback);
    }
    void drop_connections() { server_.drop_connections(); }
    asio::awaitable<void> stop() { return server_.stop(); }

  private:
    asio::awaitable<void> serve(asio::ip::tcp::socket& socket);
    // Adds what a session received since the given counts to the logs of all connections.
    void record(const FakeCompanionSession& session, std::size_t seen_before,
                std::size_t violations_before);

    FakeAtvState& state_;
    std::uint16_t requested_port_;
    TcpServer server_;
    FakeCompanionQuirks quirks_;
    std::vector<std::string> seen_;
    std::vector<CompanionMessage> messages_;
    std::vector<std::string> violations_;
    std::function<void(std::uint64_t session_id)> session_stop_;
};

}  // namespace atv::fakes
