// The device side of the Companion link, as an Apple TV plays it: HAP pair-setup with a PIN in
// PS_* frames, pair-verify in PV_* frames, then encrypted E_OPACK requests (_systemInfo,
// _sessionStart, ...) and events. Shares identity, PIN and paired clients with the MRP fake.
// It records every message and checks the introduction of protocols.md §6.5 (order and
// required fields); a request that breaks a rule is refused with `_em` and noted. As a device,
// it reads the transaction id `_x` of every message, events included: a message without a fresh
// integer `_x` is refused (a request with `_em`, an event by being dropped), noted and logged.
// Interest in `_iMC` is answered with an `_iMC` event carrying the media control flags.
// FakeCompanionDevice is what the device is beyond one connection: its power state (pushed as
// SystemStatus to every session that registered interest), its apps and accounts, the media
// control flags, the volume and a text field; it answers HID buttons, `_mcc`, `_launchApp`, the
// app and account requests and the text-input session (`_tiStart`, `_tiStop`, `_tiC` edits) as
// strictly as an Apple TV, and logs each of them.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "companion/auth.hpp"
#include "companion/connection.hpp"
#include "companion/frames.hpp"
#include "companion/opack.hpp"
#include "companion/text_input.hpp"
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

// The most a text field of the fake holds: its `_tiD` still fits in one Companion frame.
inline constexpr std::size_t fake_text_field_limit = 8 * 1024 * 1024;

class FakeCompanionSession;

// The Companion side of the device, shared by every connection.
class FakeCompanionDevice {
  public:
    using Entries = std::vector<std::pair<std::string, std::string>>;  // identifier, name

    FakeCompanionDevice();

    // ---- scripting ----
    // Asleep (off) or awake (on); pushed as SystemStatus when it changes.
    void set_power(bool on);
    // `count` changes of the power state at once, alternating, as a flapping device sends them.
    void flap_power(std::size_t count);
    void set_apps(Entries apps) { apps_ = std::move(apps); }
    void set_accounts(Entries accounts) { accounts_ = std::move(accounts); }
    // New `_mcF` flags, pushed as `_iMC`.
    void set_media_control_flags(std::uint32_t flags);
    // A text field takes the focus (pushed as `_tiStarted` with a new session) or loses it
    // (`_tiStopped`), to the connections in a text-input session.
    void set_text_focus(bool focused);
    // What the field holds; at most fake_text_field_limit bytes.
    void set_text(std::string text) { text_ = std::move(text); }
    // Closes every Companion connection, as a device whose Companion service restarts.
    void drop_connections();
    void on_drop(std::function<void()> drop) { drop_ = std::move(drop); }
    // One `power`, `power-flap`, `apps`, `accounts`, `media-flags`, `text-focus`, `text-unfocus`,
    // `text-field`, `text-field-generate` or `companion-drop` line (README.md); nullopt when
    // applied, else why not.
    std::optional<std::string> script(std::string_view line);
    // Whether `verb` is one of script()'s.
    static bool handles(std::string_view verb);

    // ---- what it is ----
    [[nodiscard]] companion::AttentionState attention() const { return attention_; }
    [[nodiscard]] const Entries& apps() const { return apps_; }
    [[nodiscard]] const Entries& accounts() const { return accounts_; }
    [[nodiscard]] const std::string& current_account() const { return current_account_; }
    [[nodiscard]] std::uint32_t media_control_flags() const { return media_control_flags_; }
    [[nodiscard]] double volume() const { return volume_; }
    [[nodiscard]] bool text_focused() const { return text_focused_; }
    [[nodiscard]] const std::string& text() const { return text_; }
    // Every line logged so far ("COMPANION HID 13 down", "LAUNCH com.apple.TVMusic", ...).
    [[nodiscard]] const std::vector<std::string>& log() const { return log_; }
    void on_log(std::function<void(const std::string&)> handler) {
        log_handler_ = std::move(handler);
    }

    // ---- the device side ----
    // The answer (`_c`) to a request of the device side, or the refusal (`_em`) as a string;
    // nullopt when `identifier` is not one of its requests.
    struct Answer {
        std::optional<companion::OpackValue> content;
        std::string refusal;
    };
    std::optional<Answer> answer(FakeCompanionSession& session, const std::string& identifier,
                                 const companion::OpackValue& content);
    // A `_tiC` event of a session: an edit of the focused field.
    void text_edit(const companion::OpackValue& content);
    void attach(FakeCompanionSession& session) { sessions_.push_back(&session); }
    void detach(FakeCompanionSession& session) { std::erase(sessions_, &session); }

  private:
    Answer hid(FakeCompanionSession& session, const companion::OpackValue& content);
    Answer media_control(const companion::OpackValue& content);
    Answer launch(const companion::OpackValue& content);
    Answer switch_account(const companion::OpackValue& content);
    Answer text_input_start(FakeCompanionSession& session);
    // The `_tiD` content describing the focused field under a fresh session id.
    companion::OpackValue text_input_session();
    void push(const std::string& event, const companion::OpackValue& content);
    void record(std::string line);

    companion::AttentionState attention_ = companion::AttentionState::awake;
    Entries apps_;
    Entries accounts_;
    std::string current_account_;
    std::uint32_t media_control_flags_;
    double volume_ = 0.5;
    bool text_focused_ = false;
    std::string text_;
    Bytes text_session_;  // the session id of the latest `_tiStart` or `_tiStarted`
    std::uint64_t text_sessions_ = 0;
    std::function<void()> drop_;
    std::vector<FakeCompanionSession*> sessions_;
    std::vector<std::string> log_;
    std::function<void(const std::string&)> log_handler_;
};

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
    FakeCompanionSession(FakeAtvState& state, FakeCompanionDevice& device,
                         FakeCompanionQuirks quirks = {});
    ~FakeCompanionSession();
    FakeCompanionSession(const FakeCompanionSession&) = delete;
    FakeCompanionSession& operator=(const FakeCompanionSession&) = delete;

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
    // Where events the device pushes go, as the bytes to send (sealed).
    void on_push(std::function<void(Bytes)> push) { push_ = std::move(push); }
    // Sends `event` with `content` when the client registered interest in it.
    void push_event(const std::string& event, const companion::OpackValue& content);
    // Sends `event` when the client is in a text-input session (from `_tiStart` to `_tiStop`).
    void push_text_input_event(const std::string& event, const companion::OpackValue& content);
    void set_text_input(bool started) { text_input_ = started; }
    // While held, pushed events gather and leave in one write when released.
    void hold_pushes(bool hold);
    // The HID buttons held down on this connection.
    std::set<std::int64_t>& held_buttons() { return held_buttons_; }

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
    void send_pushed(const std::string& event, const companion::OpackValue& content);
    void send_auth(companion::FrameType type, ByteView tlv8, Output& out);

    FakeAtvState& state_;
    FakeCompanionDevice& device_;
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
    std::function<void(Bytes)> push_;
    std::set<std::int64_t> held_buttons_;
    bool text_input_ = false;
    bool holding_ = false;
    Output held_;
    std::int64_t next_push_transaction_ = 1;
    Output* answering_ = nullptr;  // the answer receive() builds, while it runs
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
    // Power, apps, accounts and media control flags, shared by every connection.
    [[nodiscard]] FakeCompanionDevice& device() { return device_; }

  private:
    asio::awaitable<void> serve(asio::ip::tcp::socket& socket);
    // Adds what a session received since the given counts to the logs of all connections.
    void record(const FakeCompanionSession& session, std::size_t seen_before,
                std::size_t violations_before);

    FakeAtvState& state_;
    FakeCompanionDevice device_;
    std::uint16_t requested_port_;
    TcpServer server_;
    FakeCompanionQuirks quirks_;
    std::vector<std::string> seen_;
    std::vector<CompanionMessage> messages_;
    std::vector<std::string> violations_;
    std::function<void(std::uint64_t session_id)> session_stop_;
};

}  // namespace atv::fakes
