#include "fake_companion.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>

#include "atv/error.hpp"
#include "hap/tlv8.hpp"

namespace atv::fakes {

namespace {

using companion::FrameType;
using companion::OpackDict;
using companion::OpackValue;

constexpr std::uint8_t hap_error_back_off = 3;
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

Bytes back_off_refusal(std::chrono::seconds delay) {
    hap::Tlv8 refusal;
    refusal.add(hap::TlvType::seq_no, std::uint8_t{2});
    refusal.add(hap::TlvType::error, hap_error_back_off);
    Bytes seconds;
    for (auto value = static_cast<std::uint64_t>(delay.count()); value != 0; value >>= 8) {
        seconds.push_back(static_cast<std::uint8_t>(value));
    }
    refusal.add(hap::TlvType::back_off, seconds.empty() ? Bytes{0} : seconds);
    return refusal.encode();
}

OpackValue system_info_reply(const FakeAtvState& state) {
    return OpackDict{{"_pubID", state.config().mac},
                     {"name", state.config().name},
                     {"model", "AppleTV11,1"},
                     {"_sv", "715.2"}};
}

}  // namespace

FakeCompanionSession::Output FakeCompanionSession::receive(ByteView data) {
    Output out;
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
            send_auth(FrameType::ps_next, back_off_refusal(config.back_off), out);
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
                              {"_c", OpackDict{{"_mcF", fake_media_control_flags}}},
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
        reply.emplace_back("_c", OpackDict{{"state", 3}});
    } else if (identifier == "_touchStart" || identifier == "_tiStart" ||
               identifier == "TVRCSessionStart" || identifier == "_sessionStop" ||
               identifier == "_touchStop" || identifier == "_tiStop") {
        reply.emplace_back("_c", OpackDict{});
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
    if (identifier == "_tiStop" && !seen("_touchStop"))
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
    : state_(state), requested_port_(port), server_(std::move(executor), "fake-companion") {}

void FakeCompanion::start() {
    server_.start(state_.config().bind_address, requested_port_,
                  [this](asio::ip::tcp::socket& socket) { return serve(socket); });
}

asio::awaitable<void> FakeCompanion::serve(asio::ip::tcp::socket& socket) {
    FakeCompanionSession session(state_, quirks_);
    auto relaying = relay(socket, [&](ByteView data) {
        const std::size_t seen_before = session.messages().size();
        const std::size_t violations_before = session.violations().size();
        auto out = session.receive(data);
        record(session, seen_before, violations_before);
        return out;
    });
    co_await std::move(relaying);
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
