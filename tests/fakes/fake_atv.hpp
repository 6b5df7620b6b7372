// The device side of MRP, as an Apple TV 4K plays it: DEVICE_INFO, HAP pair-setup with a PIN,
// pair-verify, the encrypted session and its requests. A test double, with switches to make it
// misbehave in the ways real devices do.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fake_media.hpp"
#include "hap/identity.hpp"
#include "hap/pair_setup.hpp"
#include "hap/pair_verify.hpp"
#include "mrp/channel.hpp"
#include "mrp/framing.hpp"
#include "mrp/messages.hpp"
#include "tcp_server.hpp"

namespace atv::fakes {

// Ways a device can misbehave. MRP is where each is played; Companion plays those that apply.
enum class Misbehaviour : std::uint8_t {
    none,
    // Pair-setup
    stall_device_info,  // DEVICE_INFO is never answered
    stall_setup,        // pair-setup messages are never answered
    stall_setup_m4,     // M3 is never answered
    stall_setup_m6,     // M5 is never answered
    drop_handshake,     // the connection is closed on the first pairing message
    reset_setup_m3,     // the connection is closed on M3
    reset_setup_m5,     // the connection is closed on M5
    back_off,           // M1 is answered with BackOff
    max_peers,          // M1 is answered with MaxPeers
    max_tries,          // M1 is answered with MaxTries
    unavailable,        // M1 is answered with Unavailable
    busy,               // M1 is answered with Busy
    wrong_proof,        // M4 carries a proof that does not verify
    truncated_tlv,      // M2 ends in the middle of a TLV item
    oversized_tlv,      // M2's public key is 4 KiB long
    missing_salt,       // M2 has no salt
    wrong_seq,          // M2 says it is M6
    duplicate_reply,    // M2 is sent twice, so the second arrives where M4 is expected
    bad_m6,             // M6's encrypted data fails authentication
    huge_frame,         // a frame announces 2^31 bytes
    garbage_reply,      // DEVICE_INFO is answered with bytes that are no ProtocolMessage
    // Pair-verify and the session
    reject_credentials,  // pair-verify always fails with Authentication
    stall_verify,        // verify M1 is never answered
    stall_verify_m4,     // verify M3 is never answered
    verify_back_off,     // verify M1 is answered with BackOff, --back-off seconds
    reset_verify,        // the connection is closed on verify M3
    bad_verify_m2,       // verify M2's encrypted data fails authentication
    wrong_session_key,   // the session is sealed with keys the client cannot have
    replay_frame,        // a sealed frame is sent again (its nonce reused)
    stall_connect,       // CLIENT_UPDATES_CONFIG is never answered
};

std::optional<Misbehaviour> misbehaviour_from_string(std::string_view name);
std::string_view to_string(Misbehaviour misbehaviour);
// Every misbehaviour by name, for usage texts and catalogue tests.
std::vector<std::string_view> misbehaviour_catalogue();

// A HAP refusal of M1 (so in M2) that asks the controller to come back after `delay`.
Bytes hap_back_off_refusal(std::chrono::seconds delay);

// A stable upper-case UUID derived from a name, so a fake keeps its identity across runs.
std::string uuid_from_seed(std::string_view seed);

struct FakeAtvConfig {
    std::string name = "Fake Apple TV";
    // The MRP UniqueIdentifier (also the HAP device id) as given; when empty, a UUID derived
    // from the name, so a fake keeps its identity across runs either way.
    std::string id;
    std::string mac = "AA:BB:CC:DD:EE:FF";
    std::string pin;         // 4 digits; a fresh random PIN per pairing when empty
    std::string state_file;  // remembers the accessory key and paired clients when set
    Misbehaviour misbehaviour = Misbehaviour::none;
    std::chrono::seconds back_off{30};
    std::chrono::milliseconds drop_within{0};  // > 0: every MRP connection ends within this
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;  // 0 = ephemeral
};

// What all connections of one fake share: identity, PIN and the paired clients.
class FakeAtvState {
  public:
    explicit FakeAtvState(FakeAtvConfig config);

    [[nodiscard]] const FakeAtvConfig& config() const { return config_; }
    [[nodiscard]] const std::string& unique_identifier() const { return unique_identifier_; }
    [[nodiscard]] const hap::AccessoryIdentity& identity() const { return identity_; }
    [[nodiscard]] mrp::DeviceDescription description() const;
    // What plays, shared by every connection (MRP and MRP in the AirPlay tunnel).
    [[nodiscard]] FakeMedia& media() { return media_; }

    // The PIN for a new pair-setup: the fixed one or a fresh random one; announced.
    std::string show_pin();
    [[nodiscard]] const std::string& current_pin() const { return current_pin_; }
    void on_pin(std::function<void(const std::string&)> handler) {
        pin_handler_ = std::move(handler);
    }

    void add_controller(const hap::PairedController& controller);
    [[nodiscard]] std::optional<Bytes> controller_ltpk(std::string_view client_id) const;
    [[nodiscard]] std::size_t paired_count() const { return controllers_.size(); }
    // Whether a paired controller has this long-term key (legacy AirPlay verify sends only it).
    [[nodiscard]] bool has_controller_key(ByteView ltpk) const;

    bool answer_heartbeats = true;
    // Every message handled, over all connections (benchmarks count throughput with it).
    std::size_t messages_handled = 0;

  private:
    void load();
    void save() const;

    FakeAtvConfig config_;
    std::string unique_identifier_;
    hap::AccessoryIdentity identity_;
    std::string current_pin_;
    std::function<void(const std::string&)> pin_handler_;
    std::map<std::string, Bytes> controllers_;
    FakeMedia media_;
};

// One connection, socket-free: bytes from the client in, bytes to the client out.
class FakeDeviceSession {
  public:
    explicit FakeDeviceSession(FakeAtvState& state) : state_(state) {}
    ~FakeDeviceSession();
    FakeDeviceSession(const FakeDeviceSession&) = delete;
    FakeDeviceSession& operator=(const FakeDeviceSession&) = delete;

    struct Output {
        Bytes bytes;
        bool close = false;
    };
    Output receive(ByteView data);

    [[nodiscard]] bool encrypted() const { return cipher_ != nullptr; }
    [[nodiscard]] bool connected_state_seen() const { return connected_state_seen_; }
    // From CLIENT_UPDATES_CONFIG on, what the media side pushes goes to `push` as the bytes
    // to send (sealed once the session is encrypted), in the order they must be sent.
    void on_push(std::function<void(Bytes)> push) { push_ = std::move(push); }

  private:
    void handle(const mrp::ProtocolMessage& message, Output& out);
    void handle_pairing(const mrp::ProtocolMessage& message, Output& out);
    void handle_pair_setup(const hap::Tlv8& request, ByteView raw, Output& out);
    void handle_pair_verify(ByteView raw, Output& out);
    void send(const mrp::ProtocolMessage& message, Output& out);
    void subscribe_to_updates(Output& out);
    void send_pairing(ByteView tlv8, Output& out);
    [[nodiscard]] bool misbehaving(Misbehaviour mode) const {
        return state_.config().misbehaviour == mode;
    }
    // The misbehaviours that replace an honest M2, if one is set.
    std::optional<Bytes> hostile_m2(ByteView honest) const;

    enum class Exchange : std::uint8_t { none, setup, verify };

    FakeAtvState& state_;
    mrp::FrameReader reader_;
    std::unique_ptr<mrp::MessageCipher> cipher_;
    bool introduced_ = false;
    bool connected_state_seen_ = false;
    Exchange exchange_ = Exchange::none;
    std::optional<hap::PairSetupAccessory> setup_;
    std::optional<hap::PairVerifyAccessory> verify_;
    Bytes last_sealed_frame_;
    std::function<void(Bytes)> push_;
    std::optional<int> subscription_;  // to the media side's pushes
};

// Serves FakeDeviceSession over TCP on one executor.
class FakeAppleTv {
  public:
    FakeAppleTv(asio::any_io_executor executor, FakeAtvConfig config);

    // Binds and listens; throws std::system_error when the address is taken.
    void start();
    [[nodiscard]] std::uint16_t port() const { return server_.port(); }
    [[nodiscard]] FakeAtvState& state() { return *state_; }
    [[nodiscard]] std::size_t open_connections() const { return server_.open_connections(); }
    // Closes every client connection at once, as a rebooting device would.
    void drop_connections() { server_.drop_connections(); }
    // Stops listening, closes every connection and waits for all of it to finish.
    asio::awaitable<void> stop() { return server_.stop(); }

  private:
    asio::awaitable<void> serve(asio::ip::tcp::socket& socket);

    std::unique_ptr<FakeAtvState> state_;
    TcpServer server_;
};

}  // namespace atv::fakes
