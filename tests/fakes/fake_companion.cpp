#include "fake_companion.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <charconv>
#include <sstream>

#include "atv/error.hpp"
#include "hap/tlv8.hpp"
#include "push_writer.hpp"

namespace atv::fakes {

namespace {

using companion::FrameType;
using companion::OpackDict;
using companion::OpackValue;

constexpr std::int64_t event_kind = 1;
constexpr std::int64_t request_kind = 2;
constexpr std::int64_t response_kind = 3;
constexpr std::string_view remote_service = "com.apple.tvremoteservices";

// The message kind each message of the introduction and of the goodbye must have.
std::optional<std::int64_t> introduction_kind(const std::string& identifier) {
    static const std::set<std::string> requests{
        "_systemInfo",         "_touchStart",  "_sessionStart", "TVRCSessionStart", "_tiStart",
        "FetchAttentionState", "_sessionStop", "_touchStop",    "_tiStop"};
    if (identifier == "_interest")
        return event_kind;
    if (requests.contains(identifier))
        return request_kind;
    return std::nullopt;
}

bool is_hex(const std::string& text, std::size_t length) {
    return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
}

bool is_number(const OpackValue* value) {
    return value != nullptr && (value->is<double>() || value->is<std::int64_t>());
}

bool is_event_list(const OpackValue* value) {
    const auto* items = value != nullptr ? value->get_if<companion::OpackArray>() : nullptr;
    return items != nullptr && !items->empty() &&
           std::all_of(items->begin(), items->end(),
                       [](const OpackValue& item) { return item.is<std::string>(); });
}

OpackValue system_info_reply(const FakeAtvState& state) {
    return OpackDict{{"_pubID", state.config().mac},
                     {"name", state.config().name},
                     {"model", "AppleTV11,1"},
                     {"_sv", "715.2"}};
}

}  // namespace

namespace {

constexpr std::size_t max_script_count = 100000;

std::optional<std::uint64_t> script_number(std::string_view text) {
    std::uint64_t value = 0;
    int base = 10;
    if (text.starts_with("0x")) {
        text.remove_prefix(2);
        base = 16;
    }
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

// "id=Name,id=Name" or "none".
std::optional<FakeCompanionDevice::Entries> script_entries(std::string_view text) {
    FakeCompanionDevice::Entries entries;
    if (text == "none")
        return entries;
    std::istringstream list{std::string(text)};
    std::string entry;
    while (std::getline(list, entry, ',')) {
        const auto equals = entry.find('=');
        if (equals == std::string::npos || equals == 0)
            return std::nullopt;
        entries.emplace_back(entry.substr(0, equals), entry.substr(equals + 1));
    }
    if (entries.empty())
        return std::nullopt;
    return entries;
}

OpackValue entries_dict(const FakeCompanionDevice::Entries& entries) {
    OpackDict dict;
    dict.reserve(entries.size());
    for (const auto& [identifier, name] : entries)
        dict.emplace_back(identifier, name);
    return dict;
}

bool has_entry(const FakeCompanionDevice::Entries& entries, const std::string& identifier) {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const auto& entry) { return entry.first == identifier; });
}

FakeCompanionDevice::Answer refusal(std::string reason) {
    return {std::nullopt, std::move(reason)};
}

FakeCompanionDevice::Answer empty_answer() {
    return {OpackValue(OpackDict{}), {}};
}

// The `_mcF` bit a media control command needs.
std::optional<std::uint32_t> needed_flag(std::int64_t command) {
    switch (command) {
        case 1:
            return companion::media_control_flag::play;
        case 2:
            return companion::media_control_flag::pause;
        case 3:
            return companion::media_control_flag::next_track;
        case 4:
            return companion::media_control_flag::previous_track;
        case 5:
        case 6:
            return companion::media_control_flag::volume;
        default:
            return std::nullopt;
    }
}

}  // namespace

FakeCompanionDevice::FakeCompanionDevice()
    : apps_{{"com.apple.TVMusic", "Music"},
            {"com.apple.TVWatchList", "TV"},
            {"com.apple.TVSettings", "Settings"}},
      accounts_{{"A1B2C3D4", "Alice"}, {"E5F6A7B8", "Bob"}},
      current_account_("A1B2C3D4"),
      media_control_flags_(fake_media_control_flags) {}

bool FakeCompanionDevice::handles(std::string_view verb) {
    return verb == "power" || verb == "power-flap" || verb == "apps" || verb == "apps-generate" ||
           verb == "accounts" || verb == "media-flags" || verb == "text-focus" ||
           verb == "text-unfocus" || verb == "text-field" || verb == "text-field-generate" ||
           verb == "companion-drop";
}

std::optional<std::string> FakeCompanionDevice::script(std::string_view line) {
    const auto space = line.find(' ');
    const std::string_view verb = line.substr(0, space);
    const std::string_view argument =
        space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    if (verb == "power") {
        if (argument != "on" && argument != "off")
            return "power takes on or off";
        set_power(argument == "on");
        return std::nullopt;
    }
    if (verb == "text-focus" || verb == "text-unfocus" || verb == "companion-drop") {
        if (!argument.empty())
            return std::string(verb) + " takes nothing";
        if (verb == "companion-drop")
            drop_connections();
        else
            set_text_focus(verb == "text-focus");
        return std::nullopt;
    }
    if (verb == "text-field") {
        // The rest of the line, as it is: a field may hold quotes and spaces.
        if (argument.size() > fake_text_field_limit)
            return "a text field holds at most " + std::to_string(fake_text_field_limit) + " bytes";
        set_text(std::string(argument));
        return std::nullopt;
    }
    const auto count = script_number(argument);
    if (verb == "text-field-generate") {
        if (!count || *count > fake_text_field_limit)
            return "text-field-generate takes a count from 0 to " +
                   std::to_string(fake_text_field_limit);
        set_text(std::string(static_cast<std::size_t>(*count), 'x'));
        return std::nullopt;
    }
    if (verb == "power-flap" || verb == "apps-generate") {
        if (!count || *count == 0 || *count > max_script_count)
            return std::string(verb) + " takes a count from 1 to 100000";
        if (verb == "power-flap") {
            flap_power(static_cast<std::size_t>(*count));
            return std::nullopt;
        }
        Entries apps;
        for (std::uint64_t index = 0; index < *count; ++index)
            apps.emplace_back("com.example.app" + std::to_string(index),
                              "App " + std::to_string(index));
        set_apps(std::move(apps));
        return std::nullopt;
    }
    if (verb == "media-flags") {
        if (!count || *count > 0xffffffffu)
            return "media-flags takes a number (0x... for hex)";
        set_media_control_flags(static_cast<std::uint32_t>(*count));
        return std::nullopt;
    }
    if (verb == "apps" || verb == "accounts") {
        auto entries = script_entries(argument);
        if (!entries)
            return std::string(verb) + " takes id=Name,id=Name,... or none";
        if (verb == "apps")
            set_apps(std::move(*entries));
        else
            set_accounts(std::move(*entries));
        return std::nullopt;
    }
    return "unknown Companion verb " + std::string(verb);
}

void FakeCompanionDevice::set_power(bool on) {
    const auto attention =
        on ? companion::AttentionState::awake : companion::AttentionState::asleep;
    if (attention == attention_)
        return;
    attention_ = attention;
    record(on ? "POWER on" : "POWER off");
    push("SystemStatus", OpackDict{{"state", static_cast<std::int64_t>(attention_)}});
}

// All the changes leave in one write per connection, as a device that flaps sends them in one
// burst: how many arrive per read then depends on the flapping, not on the load of the machine.
void FakeCompanionDevice::flap_power(std::size_t count) {
    for (FakeCompanionSession* session : sessions_)
        session->hold_pushes(true);
    for (std::size_t change = 0; change < count; ++change)
        set_power(attention_ == companion::AttentionState::asleep);
    for (FakeCompanionSession* session : sessions_)
        session->hold_pushes(false);
}

void FakeCompanionDevice::set_media_control_flags(std::uint32_t flags) {
    media_control_flags_ = flags;
    push("_iMC", OpackDict{{"_mcF", flags}});
}

void FakeCompanionDevice::set_text_focus(bool focused) {
    if (focused == text_focused_)
        return;
    text_focused_ = focused;
    record(focused ? "TEXT focused" : "TEXT unfocused");
    const OpackValue content = focused ? text_input_session() : OpackValue(OpackDict{});
    if (!focused)
        text_session_.clear();
    for (FakeCompanionSession* session : sessions_)
        session->push_text_input_event(focused ? "_tiStarted" : "_tiStopped", content);
}

void FakeCompanionDevice::drop_connections() {
    record("COMPANION dropped");
    if (drop_)
        drop_();
}

OpackValue FakeCompanionDevice::text_input_session() {
    // A session id of its own for every session, so that an edit for an old one stands out.
    text_session_.assign(16, 0);
    const std::uint64_t number = ++text_sessions_;
    for (std::size_t i = 0; i < 8; ++i)
        text_session_[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
    return OpackDict{{"_tiD", companion::encode_text_input_session(text_session_, text_)}};
}

FakeCompanionDevice::Answer FakeCompanionDevice::text_input_start(FakeCompanionSession& session) {
    session.set_text_input(true);
    if (!text_focused_) {
        record("TEXT start unfocused");
        return empty_answer();
    }
    record("TEXT start focused");
    return Answer{text_input_session(), {}};
}

// An edit applies to the focused field of the latest session only; whatever else arrives is
// logged as refused, as a device ignores it.
void FakeCompanionDevice::text_edit(const OpackValue& content) {
    const auto archive = content.bytes_at("_tiD");
    if (!archive || content.int_at("_tiV") != 1) {
        record("TEXT refused _tiC without _tiV 1 and _tiD");
        return;
    }
    companion::TextOperation operation;
    try {
        operation = companion::decode_text_operation(*archive);
    } catch (const Error& error) {
        record(std::string("TEXT refused ") + error.what());
        return;
    }
    if (!text_focused_ || operation.target_session_uuid != text_session_) {
        record("TEXT refused an edit of a session that is not the current one");
        return;
    }
    if (operation.clear) {
        text_.clear();
        record("TEXT clear");
    }
    if (operation.insertion) {
        if (text_.size() + operation.insertion->size() > fake_text_field_limit) {
            record("TEXT refused the field would hold more than " +
                   std::to_string(fake_text_field_limit) + " bytes");
            return;
        }
        text_ += *operation.insertion;
        record("TEXT insert " + *operation.insertion);
    }
}

void FakeCompanionDevice::push(const std::string& event, const OpackValue& content) {
    for (FakeCompanionSession* session : sessions_)
        session->push_event(event, content);
}

void FakeCompanionDevice::record(std::string line) {
    if (log_handler_)
        log_handler_(line);
    log_.push_back(std::move(line));
}

std::optional<FakeCompanionDevice::Answer> FakeCompanionDevice::answer(
    FakeCompanionSession& session, const std::string& identifier, const OpackValue& content) {
    if (identifier == "_hidC")
        return hid(session, content);
    if (identifier == "_mcc")
        return media_control(content);
    if (identifier == "_launchApp")
        return launch(content);
    if (identifier == "SwitchUserAccountEvent")
        return switch_account(content);
    if (identifier == "FetchLaunchableApplicationsEvent")
        return Answer{entries_dict(apps_), {}};
    if (identifier == "FetchUserAccountsEvent")
        return Answer{entries_dict(accounts_), {}};
    if (identifier == "_tiStart")
        return text_input_start(session);
    if (identifier == "_tiStop") {
        session.set_text_input(false);
        return empty_answer();
    }
    return std::nullopt;
}

// A button goes down, then up; an up without its down, a second down or an unknown code is
// refused as a device refuses it.
FakeCompanionDevice::Answer FakeCompanionDevice::hid(FakeCompanionSession& session,
                                                     const OpackValue& content) {
    const auto state = content.int_at("_hBtS");
    const auto code = content.int_at("_hidC");
    if (!state || (*state != 1 && *state != 2) || !code || *code < 1 || *code > 19)
        return refusal("_hidC needs _hBtS 1 or 2 and a _hidC button from 1 to 19");
    auto& held = session.held_buttons();
    const bool down = *state == 1;
    if (down && held.contains(*code))
        return refusal("button " + std::to_string(*code) + " is already down");
    if (!down && !held.contains(*code))
        return refusal("button " + std::to_string(*code) + " went up without going down");
    if (down)
        held.insert(*code);
    else
        held.erase(*code);
    record("COMPANION HID " + std::to_string(*code) + (down ? " down" : " up"));
    constexpr std::int64_t sleep_button = 12;
    constexpr std::int64_t wake_button = 13;
    if (!down && (*code == sleep_button || *code == wake_button))
        set_power(*code == wake_button);
    return empty_answer();
}

FakeCompanionDevice::Answer FakeCompanionDevice::media_control(const OpackValue& content) {
    const auto command = content.int_at("_mcc");
    const auto flag = command ? needed_flag(*command) : std::nullopt;
    if (!flag)
        return refusal("_mcc lacks a media control command the fake knows");
    if ((media_control_flags_ & *flag) == 0)
        return refusal("media control " + std::to_string(*command) + " is not available now");
    if (*command == 5)
        return Answer{OpackValue(OpackDict{{"_vol", volume_}}), {}};
    if (*command == 6) {
        const OpackValue* level = content.find("_vol");
        const double* value = level != nullptr ? level->get_if<double>() : nullptr;
        if (value == nullptr || !(*value >= 0.0 && *value <= 1.0))
            return refusal("_mcc 6 needs _vol from 0 to 1");
        volume_ = *value;
        record(fmt::format("MCC 6 volume={}", volume_));
        return empty_answer();
    }
    record("MCC " + std::to_string(*command));
    return empty_answer();
}

FakeCompanionDevice::Answer FakeCompanionDevice::launch(const OpackValue& content) {
    const auto bundle = content.string_at("_bundleID");
    const auto url = content.string_at("_urlS");
    if (bundle.has_value() == url.has_value())
        return refusal("_launchApp needs either _bundleID or _urlS");
    if (bundle) {
        if (!has_entry(apps_, *bundle))
            return refusal("no app " + *bundle);
        record("LAUNCH " + *bundle);
        return empty_answer();
    }
    if (url->find(':') == std::string::npos)
        return refusal("_urlS is no URL");
    record("LAUNCH-URL " + *url);
    return empty_answer();
}

FakeCompanionDevice::Answer FakeCompanionDevice::switch_account(const OpackValue& content) {
    const auto account = content.string_at("SwitchAccountID");
    if (!account)
        return refusal("SwitchUserAccountEvent lacks SwitchAccountID");
    if (!has_entry(accounts_, *account))
        return refusal("no account " + *account);
    current_account_ = *account;
    record("SWITCH-ACCOUNT " + *account);
    return empty_answer();
}

// ---- FakeCompanionSession ----

FakeCompanionSession::FakeCompanionSession(FakeAtvState& state, FakeCompanionDevice& device,
                                           FakeCompanionQuirks quirks)
    : state_(state), device_(device), quirks_(std::move(quirks)) {
    device_.attach(*this);
}

FakeCompanionSession::~FakeCompanionSession() {
    device_.detach(*this);
}

void FakeCompanionSession::push_event(const std::string& event, const OpackValue& content) {
    if (interests_.contains(event))
        send_pushed(event, content);
}

// A device tells a remote in a text-input session of focus changes without an interest in them.
void FakeCompanionSession::push_text_input_event(const std::string& event,
                                                 const OpackValue& content) {
    if (text_input_)
        send_pushed(event, content);
}

void FakeCompanionSession::send_pushed(const std::string& event, const OpackValue& content) {
    if (!push_ || !cipher_)
        return;
    const OpackDict message{
        {"_i", event}, {"_t", event_kind}, {"_c", content}, {"_x", next_push_transaction_++}};
    // Sealed frames must leave in the order of their nonces: while an answer is being built,
    // the event goes out with it.
    if (answering_ != nullptr) {
        send(FrameType::e_opack, companion::opack_encode(message), *answering_);
        return;
    }
    if (holding_) {
        send(FrameType::e_opack, companion::opack_encode(message), held_);
        return;
    }
    Output out;
    send(FrameType::e_opack, companion::opack_encode(message), out);
    push_(std::move(out.bytes));
}

void FakeCompanionSession::hold_pushes(bool hold) {
    if (hold || !holding_) {
        holding_ = hold;
        return;
    }
    holding_ = false;
    Bytes held = std::move(held_.bytes);
    held_.bytes.clear();
    if (push_ && !held.empty())
        push_(std::move(held));
}

FakeCompanionSession::Output FakeCompanionSession::receive(ByteView data) {
    Output out;
    answering_ = &out;
    struct Done {
        Output*& answering;
        ~Done() { answering = nullptr; }
    } done{answering_};
    try {
        reader_.feed(data);
        while (auto complete = reader_.next()) {
            handle(std::move(*complete), out);
            if (out.close)
                break;
        }
    } catch (const Error& error) {
        spdlog::warn("fake-companion: closing a connection: {}", error.what());
        out.close = true;
    }
    return out;
}

void FakeCompanionSession::handle(companion::FrameReader::Complete complete, Output& out) {
    companion::Frame& frame = complete.frame;
    if (cipher_ && !frame.payload.empty()) {
        auto opened = cipher_->decrypt(frame.payload, complete.header);
        if (!opened) {
            out.close = true;
            return;
        }
        frame.payload = std::move(*opened);
    }
    switch (frame.type) {
        case FrameType::ps_start:
        case FrameType::ps_next:
        case FrameType::pv_start:
        case FrameType::pv_next: {
            if (state_.config().misbehaviour == Misbehaviour::drop_handshake) {
                out.close = true;
                return;
            }
            const Bytes tlv8 = companion::decode_auth_payload(frame.payload);
            if (frame.type == FrameType::ps_start || frame.type == FrameType::ps_next) {
                handle_setup(tlv8, out);
            } else {
                handle_verify(tlv8, frame.type == FrameType::pv_start, out);
            }
            return;
        }
        case FrameType::e_opack:
            handle_opack(companion::opack_decode(frame.payload), out);
            return;
        default:
            return;
    }
}

void FakeCompanionSession::handle_setup(ByteView tlv8, Output& out) {
    const FakeAtvConfig& config = state_.config();
    if (config.misbehaviour == Misbehaviour::stall_setup)
        return;
    const auto seq_no = hap::Tlv8::decode(tlv8).get_byte(hap::TlvType::seq_no);
    if (seq_no == 1) {
        if (config.misbehaviour == Misbehaviour::back_off) {
            send_auth(FrameType::ps_next, hap_back_off_refusal(config.back_off), out);
            return;
        }
        setup_.emplace(state_.identity(), state_.show_pin());
    }
    if (!setup_)
        return;
    const Bytes reply = setup_->handle(tlv8);
    if (seq_no == 5 && setup_->paired())
        state_.add_controller(*setup_->controller());
    send_auth(FrameType::ps_next, reply, out);
}

void FakeCompanionSession::handle_verify(ByteView tlv8, bool first, Output& out) {
    if (first) {
        const bool reject = state_.config().misbehaviour == Misbehaviour::reject_credentials;
        verify_.emplace(state_.identity(),
                        [this, reject](std::string_view client_id) -> std::optional<Bytes> {
                            if (reject)
                                return std::nullopt;
                            return state_.controller_ltpk(client_id);
                        });
    }
    if (!verify_)
        return;
    send_auth(FrameType::pv_next, verify_->handle(tlv8), out);
    if (verify_->verified() && !cipher_) {
        // The reply above went out in plain text; everything after it is sealed.
        cipher_.emplace(
            hap::reversed(hap::companion_session_keys(verify_->shared_secret().view())));
    }
}

void FakeCompanionSession::handle_opack(const OpackValue& message, Output& out) {
    CompanionMessage received;
    received.identifier = message.string_at("_i").value_or("");
    received.kind = message.int_at("_t").value_or(0);
    received.transaction = message.int_at("_x");
    if (const OpackValue* content = message.find("_c"))
        received.content = *content;
    seen_.push_back(received.identifier);
    messages_.push_back(received);
    ++state_.messages_handled;
    if (const auto problem = transaction_problem(received, message)) {
        refuse(received, *problem, out);
        return;
    }
    transactions_.insert(*received.transaction);
    accepted_.push_back(received.identifier);
    const auto violation = check(received);
    if (violation) {
        spdlog::warn("fake-companion: {}", *violation);
        violations_.push_back(*violation);
    }
    const std::string& identifier = received.identifier;
    if (identifier == "_sessionStart" && !violation) {
        const auto client_session = received.content.int_at("_sid");
        session_id_ = (std::uint64_t{fake_companion_session} << 32) |
                      static_cast<std::uint32_t>(*client_session);
    }
    if (identifier == "_interest" && !violation)
        update_interests(received, out);
    if (identifier == "_tiC" && received.kind == event_kind && !violation)
        device_.text_edit(received.content);
    if (received.kind != request_kind || quirks_.unanswered.contains(identifier))
        return;  // events need no answer; a stalled device gives none
    answer(received, violation, out);
}

std::optional<std::string> FakeCompanionSession::transaction_problem(
    const CompanionMessage& message, const OpackValue& raw) const {
    const std::string& identifier = message.identifier;
    if (raw.find("_x") == nullptr)
        return identifier + " came without a transaction id (_x)";
    if (!message.transaction)
        return identifier + " came with a transaction id (_x) that is no integer";
    if (*message.transaction < 0)
        return identifier + " came with a negative transaction id (_x)";
    if (transactions_.contains(*message.transaction)) {
        return identifier + " reused transaction id (_x) " + std::to_string(*message.transaction);
    }
    return std::nullopt;
}

void FakeCompanionSession::refuse(const CompanionMessage& message, const std::string& reason,
                                  Output& out) {
    spdlog::warn("fake-companion: refusing {}: {}", message.identifier, reason);
    violations_.push_back(reason);
    if (message.kind != request_kind)
        return;  // an event has nobody to answer: the device drops it
    OpackDict reply{{"_i", message.identifier}, {"_t", response_kind}};
    if (message.transaction)
        reply.emplace_back("_x", *message.transaction);
    reply.emplace_back("_em", "fake Apple TV: " + reason);
    reply.emplace_back("_ec", 1);
    send(FrameType::e_opack, companion::opack_encode(reply), out);
}

void FakeCompanionSession::update_interests(const CompanionMessage& message, Output& out) {
    const auto events = [&message](const char* key) {
        std::vector<std::string> names;
        const OpackValue* list = message.content.find(key);
        const auto* items = list != nullptr ? list->get_if<companion::OpackArray>() : nullptr;
        if (items != nullptr) {
            for (const OpackValue& item : *items)
                names.push_back(*item.get_if<std::string>());
        }
        return names;
    };
    for (const std::string& event : events("_deregEvents"))
        interests_.erase(event);
    for (const std::string& event : events("_regEvents")) {
        interests_.insert(event);
        if (event != "_iMC")
            continue;
        // The flags follow at once, as the answer to the interest: they carry its `_x`.
        const OpackDict flags{{"_i", "_iMC"},
                              {"_t", event_kind},
                              {"_c", OpackDict{{"_mcF", device_.media_control_flags()}}},
                              {"_x", *message.transaction}};
        send(FrameType::e_opack, companion::opack_encode(flags), out);
    }
}

void FakeCompanionSession::answer(const CompanionMessage& message,
                                  const std::optional<std::string>& violation, Output& out) {
    const std::string& identifier = message.identifier;
    OpackDict reply{{"_i", identifier}, {"_t", response_kind}, {"_x", *message.transaction}};
    if (violation) {
        reply.emplace_back("_em", "fake Apple TV: " + *violation);
        reply.emplace_back("_ec", 1);
    } else if (quirks_.refused.contains(identifier)) {
        reply.emplace_back("_em", "No request handler");
        reply.emplace_back("_ec", 1);
    } else if (identifier == "_systemInfo") {
        reply.emplace_back("_c", system_info_reply(state_));
    } else if (identifier == "_sessionStart") {
        reply.emplace_back("_c", OpackDict{{"_sid", std::int64_t{fake_companion_session}}});
    } else if (identifier == "FetchAttentionState") {
        reply.emplace_back("_c",
                           OpackDict{{"state", static_cast<std::int64_t>(device_.attention())}});
    } else if (identifier == "_touchStart" || identifier == "TVRCSessionStart" ||
               identifier == "_sessionStop" || identifier == "_touchStop") {
        reply.emplace_back("_c", OpackDict{});
    } else if (auto device_answer = device_.answer(*this, identifier, message.content)) {
        if (device_answer->content) {
            reply.emplace_back("_c", std::move(*device_answer->content));
        } else {
            spdlog::warn("fake-companion: refusing {}: {}", identifier, device_answer->refusal);
            reply.emplace_back("_em", "fake Apple TV: " + device_answer->refusal);
            reply.emplace_back("_ec", 1);
        }
    } else {
        reply.emplace_back("_em", "No request handler");
        reply.emplace_back("_ec", 1);
    }
    send(FrameType::e_opack, companion::opack_encode(reply), out);
}

bool FakeCompanionSession::seen(const std::string& identifier) const {
    return std::find(accepted_.begin(), accepted_.end(), identifier) != accepted_.end();
}

std::optional<std::string> FakeCompanionSession::check(const CompanionMessage& message) const {
    const std::string& identifier = message.identifier;
    const OpackValue& content = message.content;
    if (const auto expected = introduction_kind(identifier); expected && message.kind != *expected)
        return identifier + " came with the wrong message kind";
    if (identifier == "_systemInfo") {
        if (accepted_.size() != 1)
            return "_systemInfo was not the first message";
        const auto remote_id = content.string_at("_i");
        if (!remote_id || !is_hex(*remote_id, 12))
            return "_systemInfo has no _i of 12 hex digits";
        if (!content.bytes_at("_idsID") || !content.string_at("_pubID") ||
            !content.string_at("name") || !content.string_at("model")) {
            return "_systemInfo lacks _idsID, _pubID, name or model";
        }
        return std::nullopt;
    }
    if (!seen("_systemInfo"))
        return identifier + " came before _systemInfo";
    if (identifier == "_touchStart") {
        if (!is_number(content.find("_height")) || !is_number(content.find("_width")) ||
            !content.int_at("_tFl")) {
            return "_touchStart lacks _height, _width or _tFl";
        }
        return std::nullopt;
    }
    if (identifier == "_sessionStart") {
        if (!seen("_touchStart"))
            return "_sessionStart came before _touchStart";
        if (content.string_at("_srvT") != remote_service || !content.int_at("_sid"))
            return "_sessionStart lacks the remote service or a _sid";
        return std::nullopt;
    }
    if (!session_id_)
        return identifier + " came before a session was started";
    if (identifier == "TVRCSessionStart" && !content.string_at("ProtocolVersionKey"))
        return "TVRCSessionStart lacks ProtocolVersionKey";
    if (identifier == "_tiStart" && !seen("TVRCSessionStart"))
        return "_tiStart came before TVRCSessionStart";
    if (identifier == "_interest" && !is_event_list(content.find("_regEvents")) &&
        !is_event_list(content.find("_deregEvents"))) {
        return "_interest lacks _regEvents or _deregEvents";
    }
    if (identifier == "_sessionStop") {
        const auto stopped = content.int_at("_sid");
        if (content.string_at("_srvT") != remote_service || !stopped ||
            static_cast<std::uint64_t>(*stopped) != *session_id_) {
            return "_sessionStop does not name the remote service and this session's id";
        }
    }
    if (identifier == "_touchStop") {
        if (!seen("_sessionStop"))
            return "_touchStop came before _sessionStop";
        if (!content.int_at("_i"))
            return "_touchStop lacks _i";
    }
    // Before the goodbye, _tiStop ends a text-input session that a _tiStart begins again.
    if (identifier == "_tiStop" && seen("_sessionStop") && !seen("_touchStop"))
        return "_tiStop came before _touchStop";
    return std::nullopt;
}

void FakeCompanionSession::send(FrameType type, ByteView payload, Output& out) {
    if (cipher_ && !payload.empty()) {
        const auto header = companion::make_frame_header(type, payload.size() + 16);
        const Bytes sealed = cipher_->encrypt(payload, header);
        out.bytes.insert(out.bytes.end(), header.begin(), header.end());
        out.bytes.insert(out.bytes.end(), sealed.begin(), sealed.end());
        return;
    }
    const Bytes frame = companion::encode_frame(type, payload);
    out.bytes.insert(out.bytes.end(), frame.begin(), frame.end());
}

void FakeCompanionSession::send_auth(FrameType type, ByteView tlv8, Output& out) {
    send(type, companion::opack_encode(OpackDict{{"_pd", Bytes(tlv8.begin(), tlv8.end())}}), out);
}

// ---- FakeCompanion ----

FakeCompanion::FakeCompanion(asio::any_io_executor executor, FakeAtvState& state,
                             std::uint16_t port)
    : state_(state), requested_port_(port), server_(std::move(executor), "fake-companion") {
    device_.on_drop([this] { server_.drop_connections(); });
}

void FakeCompanion::start() {
    server_.start(state_.config().bind_address, requested_port_,
                  [this](asio::ip::tcp::socket& socket) { return serve(socket); });
}

// Like relay(), with the device's pushed events between the answers.
asio::awaitable<void> FakeCompanion::serve(asio::ip::tcp::socket& socket) {
    PushWriter writer(socket);
    {
        FakeCompanionSession session(state_, device_, quirks_);
        session.on_push([&writer](Bytes bytes) { writer.write(std::move(bytes)); });
        std::array<std::uint8_t, 16 * 1024> chunk{};
        for (;;) {
            std::error_code ec;
            const std::size_t count = co_await socket.async_read_some(
                asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
                break;
            const std::size_t seen_before = session.messages().size();
            const std::size_t violations_before = session.violations().size();
            auto out = session.receive(ByteView(chunk.data(), count));
            record(session, seen_before, violations_before);
            writer.write(std::move(out.bytes));
            if (out.close)
                break;
        }
    }
    co_await writer.flush();
}

void FakeCompanion::record(const FakeCompanionSession& session, std::size_t seen_before,
                           std::size_t violations_before) {
    const auto& messages = session.messages();
    for (std::size_t i = seen_before; i < messages.size(); ++i) {
        seen_.push_back(messages[i].identifier);
        messages_.push_back(messages[i]);
        if (messages[i].identifier == "_sessionStop" && session_stop_)
            session_stop_(
                static_cast<std::uint64_t>(messages[i].content.int_at("_sid").value_or(0)));
    }
    const auto& violations = session.violations();
    violations_.insert(violations_.end(),
                       violations.begin() + static_cast<std::ptrdiff_t>(violations_before),
                       violations.end());
}

}  // namespace atv::fakes
