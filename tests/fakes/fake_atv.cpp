#include "fake_atv.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "atv/error.hpp"
#include "hap/tlv8.hpp"
#include "mrp/handshake.hpp"
#include "push_writer.hpp"

namespace atv::fakes {

namespace {

constexpr std::uint8_t hap_error_back_off = 3;
constexpr std::uint8_t hap_error_max_peers = 4;
constexpr std::uint8_t hap_error_max_tries = 5;
constexpr std::uint8_t hap_error_unavailable = 6;
constexpr std::uint8_t hap_error_busy = 7;
constexpr std::size_t oversized_key_bytes = 4096;

// M6 or verify M2 (SeqNo, an optional PublicKey, EncryptedData) with one bit of its encrypted
// data flipped.
Bytes tamper_encrypted_data(ByteView message) {
    const hap::Tlv8 honest = hap::Tlv8::decode(message);
    const auto encrypted = honest.get(hap::TlvType::encrypted_data);
    if (!encrypted || encrypted->empty()) {
        return Bytes(message.begin(), message.end());
    }
    Bytes flipped(encrypted->begin(), encrypted->end());
    flipped[flipped.size() / 2] ^= 0x01;
    hap::Tlv8 tampered;
    tampered.add(hap::TlvType::seq_no, *honest.get_byte(hap::TlvType::seq_no));
    if (const auto key = honest.get(hap::TlvType::public_key)) {
        tampered.add(hap::TlvType::public_key, *key);
    }
    tampered.add(hap::TlvType::encrypted_data, flipped);
    return tampered.encode();
}

// The refusal an accessory sends instead of M2 for an error that needs no argument.
std::optional<std::uint8_t> refusal_error(Misbehaviour mode) {
    switch (mode) {
        case Misbehaviour::max_peers:
            return hap_error_max_peers;
        case Misbehaviour::max_tries:
            return hap_error_max_tries;
        case Misbehaviour::unavailable:
            return hap_error_unavailable;
        case Misbehaviour::busy:
            return hap_error_busy;
        default:
            return std::nullopt;
    }
}

std::optional<std::uint8_t> seq_no_of(const hap::Tlv8& tlv) {
    return tlv.get_byte(hap::TlvType::seq_no);
}

// The M4 of an honest accessory with one bit of its SRP proof flipped.
Bytes corrupt_proof(ByteView m4) {
    const hap::Tlv8 honest = hap::Tlv8::decode(m4);
    const auto proof = honest.get(hap::TlvType::proof);
    if (!proof || proof->empty()) {
        return Bytes(m4.begin(), m4.end());
    }
    Bytes bad_proof(proof->begin(), proof->end());
    bad_proof[0] ^= 0x01;
    hap::Tlv8 tampered;
    tampered.add(hap::TlvType::seq_no, std::uint8_t{4});
    tampered.add(hap::TlvType::proof, bad_proof);
    return tampered.encode();
}

std::string random_pin() {
    const Bytes random = random_bytes(4);
    std::uint32_t value = 0;
    for (std::uint8_t byte : random) {
        value = (value << 8) | byte;
    }
    char text[8];
    std::snprintf(text, sizeof text, "%04u", static_cast<unsigned>(value % 10000));
    return text;
}

}  // namespace

namespace {

constexpr std::pair<Misbehaviour, std::string_view> misbehaviour_names[] = {
    {Misbehaviour::none, "none"},
    {Misbehaviour::stall_device_info, "stall-device-info"},
    {Misbehaviour::stall_setup, "stall-setup"},
    {Misbehaviour::stall_setup_m4, "stall-setup-m4"},
    {Misbehaviour::stall_setup_m6, "stall-setup-m6"},
    {Misbehaviour::drop_handshake, "drop-handshake"},
    {Misbehaviour::reset_setup_m3, "reset-setup-m3"},
    {Misbehaviour::reset_setup_m5, "reset-setup-m5"},
    {Misbehaviour::back_off, "back-off"},
    {Misbehaviour::max_peers, "max-peers"},
    {Misbehaviour::max_tries, "max-tries"},
    {Misbehaviour::unavailable, "unavailable"},
    {Misbehaviour::busy, "busy"},
    {Misbehaviour::wrong_proof, "wrong-proof"},
    {Misbehaviour::truncated_tlv, "truncated-tlv"},
    {Misbehaviour::oversized_tlv, "oversized-tlv"},
    {Misbehaviour::missing_salt, "missing-salt"},
    {Misbehaviour::wrong_seq, "wrong-seq"},
    {Misbehaviour::duplicate_reply, "duplicate-reply"},
    {Misbehaviour::bad_m6, "bad-m6"},
    {Misbehaviour::huge_frame, "huge-frame"},
    {Misbehaviour::garbage_reply, "garbage-reply"},
    {Misbehaviour::reject_credentials, "reject-credentials"},
    {Misbehaviour::stall_verify, "stall-verify"},
    {Misbehaviour::stall_verify_m4, "stall-verify-m4"},
    {Misbehaviour::verify_back_off, "verify-back-off"},
    {Misbehaviour::reset_verify, "reset-verify"},
    {Misbehaviour::bad_verify_m2, "bad-verify-m2"},
    {Misbehaviour::wrong_session_key, "wrong-session-key"},
    {Misbehaviour::replay_frame, "replay-frame"},
    {Misbehaviour::stall_connect, "stall-connect"},
};

}  // namespace

std::optional<Misbehaviour> misbehaviour_from_string(std::string_view name) {
    for (const auto& [mode, mode_name] : misbehaviour_names) {
        if (mode_name == name) {
            return mode;
        }
    }
    return std::nullopt;
}

std::string_view to_string(Misbehaviour misbehaviour) {
    for (const auto& [mode, mode_name] : misbehaviour_names) {
        if (mode == misbehaviour) {
            return mode_name;
        }
    }
    return "none";
}

std::vector<std::string_view> misbehaviour_catalogue() {
    std::vector<std::string_view> names;
    for (const auto& [mode, mode_name] : misbehaviour_names) {
        if (mode != Misbehaviour::none) {
            names.push_back(mode_name);
        }
    }
    return names;
}

Bytes hap_back_off_refusal(std::chrono::seconds delay) {
    hap::Tlv8 refusal;
    refusal.add(hap::TlvType::seq_no, std::uint8_t{2});
    refusal.add(hap::TlvType::error, hap_error_back_off);
    Bytes seconds;  // little-endian, as HAP's integers are
    for (auto value = static_cast<std::uint64_t>(delay.count()); value != 0; value >>= 8) {
        seconds.push_back(static_cast<std::uint8_t>(value));
    }
    refusal.add(hap::TlvType::back_off, seconds.empty() ? Bytes{0} : seconds);
    return refusal.encode();
}

std::string uuid_from_seed(std::string_view seed) {
    std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(seed.data()),
                       seed.size());
    // Name-based: version 5 and the RFC 4122 variant, as a UUID derived from a name carries.
    digest[6] = static_cast<std::uint8_t>((digest[6] & 0x0f) | 0x50);
    digest[8] = static_cast<std::uint8_t>((digest[8] & 0x3f) | 0x80);
    std::string hex = to_hex(ByteView(digest).first(16));
    for (char& c : hex) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

// ---- FakeAtvState ----

FakeAtvState::FakeAtvState(FakeAtvConfig config)
    : config_(std::move(config)),
      unique_identifier_(config_.id.empty() ? uuid_from_seed(config_.name) : config_.id),
      media_(unique_identifier_) {
    identity_.device_id = unique_identifier_;
    identity_.keys = hap::Ed25519KeyPair::generate();
    current_pin_ = config_.pin;
    if (!config_.state_file.empty()) {
        load();
    }
}

mrp::DeviceDescription FakeAtvState::description() const {
    return {unique_identifier_, config_.name, "17K795", "AppleTV6,2"};
}

std::string FakeAtvState::show_pin() {
    current_pin_ = config_.pin.empty() ? random_pin() : config_.pin;
    if (pin_handler_) {
        pin_handler_(current_pin_);
    }
    return current_pin_;
}

void FakeAtvState::add_controller(const hap::PairedController& controller) {
    controllers_[controller.client_id] = controller.ltpk;
    spdlog::info("fake-atv: paired with a new client ({} known)", controllers_.size());
    if (!config_.state_file.empty()) {
        save();
    }
}

bool FakeAtvState::has_controller_key(ByteView ltpk) const {
    for (const auto& [client_id, key] : controllers_) {
        if (ByteView(key).size() == ltpk.size() &&
            std::equal(key.begin(), key.end(), ltpk.begin())) {
            return true;
        }
    }
    return false;
}

std::optional<Bytes> FakeAtvState::controller_ltpk(std::string_view client_id) const {
    const auto found = controllers_.find(std::string(client_id));
    if (found == controllers_.end()) {
        return std::nullopt;
    }
    return found->second;
}

void FakeAtvState::load() {
    std::ifstream in(config_.state_file);
    if (!in) {
        // First run: create the file so the accessory key stays the same from now on.
        save();
        return;
    }
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string kind;
        std::string first;
        std::string second;
        fields >> kind >> first >> second;
        if (kind == "accessory-seed") {
            if (auto seed = from_hex(first); seed && seed->size() == 32) {
                identity_.keys = hap::Ed25519KeyPair::from_seed(*seed);
            }
        } else if (kind == "controller") {
            auto id = from_hex(first);
            auto ltpk = from_hex(second);
            if (id && ltpk) {
                controllers_[atv::to_string(*id)] = *ltpk;
            }
        }
    }
}

void FakeAtvState::save() const {
    const std::filesystem::path target(config_.state_file);
    const std::filesystem::path temporary = target.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << "accessory-seed " << to_hex(identity_.keys.seed.view()) << "\n";
        for (const auto& [client_id, ltpk] : controllers_) {
            out << "controller " << to_hex(to_bytes(client_id)) << " " << to_hex(ltpk) << "\n";
        }
    }
    ::chmod(temporary.c_str(), 0600);
    std::filesystem::rename(temporary, target);
}

// ---- FakeDeviceSession ----

FakeDeviceSession::~FakeDeviceSession() {
    if (subscription_) {
        state_.media().unsubscribe(*subscription_);
    }
}

void FakeDeviceSession::subscribe_to_updates(Output& out) {
    for (const mrp::ProtocolMessage& message : state_.media().snapshot()) {
        send(message, out);
    }
    if (subscription_ || !push_) {
        return;
    }
    subscription_ = state_.media().subscribe([this](const mrp::ProtocolMessage& message) {
        Output pushed;
        send(message, pushed);
        push_(std::move(pushed.bytes));
    });
}

FakeDeviceSession::Output FakeDeviceSession::receive(ByteView data) {
    Output out;
    try {
        reader_.feed(data);
        while (auto frame = reader_.next()) {
            Bytes plaintext = std::move(*frame);
            if (cipher_) {
                auto opened = cipher_->open(plaintext);
                if (!opened) {
                    spdlog::warn("fake-atv: a message failed decryption; closing");
                    out.close = true;
                    return out;
                }
                plaintext = std::move(*opened);
            }
            auto message = mrp::parse(plaintext);
            if (!message) {
                spdlog::warn("fake-atv: ignoring bytes that are not a ProtocolMessage");
                continue;
            }
            handle(*message, out);
            if (out.close) {
                return out;
            }
        }
    } catch (const Error& error) {
        spdlog::warn("fake-atv: closing a connection: {}", error.what());
        out.close = true;
    }
    return out;
}

void FakeDeviceSession::send(const mrp::ProtocolMessage& message, Output& out) {
    Bytes payload = mrp::serialize(message);
    if (cipher_) {
        payload = cipher_->seal(payload);
    }
    const Bytes frame = mrp::encode_frame(payload);
    if (cipher_ && misbehaving(Misbehaviour::replay_frame)) {
        out.bytes.insert(out.bytes.end(), last_sealed_frame_.begin(), last_sealed_frame_.end());
        last_sealed_frame_ = frame;
    }
    out.bytes.insert(out.bytes.end(), frame.begin(), frame.end());
}

void FakeDeviceSession::send_pairing(ByteView tlv8, Output& out) {
    send(mrp::crypto_pairing(tlv8), out);
}

void FakeDeviceSession::handle(const mrp::ProtocolMessage& message, Output& out) {
    using mrp::ProtocolMessage;
    ++state_.messages_handled;
    // A real Apple TV ignores everything until the client has introduced itself.
    if (!introduced_ && message.type() != ProtocolMessage::DEVICE_INFO_MESSAGE) {
        return;
    }
    switch (message.type()) {
        case ProtocolMessage::DEVICE_INFO_MESSAGE:
            introduced_ = true;
            if (misbehaving(Misbehaviour::stall_device_info)) {
                break;
            }
            if (misbehaving(Misbehaviour::huge_frame)) {
                // A length of 2^31 as a varint, then a few bytes of the promised body.
                const Bytes header = {0x80, 0x80, 0x80, 0x80, 0x08, 0x0a, 0x02};
                out.bytes.insert(out.bytes.end(), header.begin(), header.end());
                break;
            }
            if (misbehaving(Misbehaviour::garbage_reply)) {
                const Bytes garbage = mrp::encode_frame(Bytes{0xff, 0xff, 0xff, 0xff, 0x0f});
                out.bytes.insert(out.bytes.end(), garbage.begin(), garbage.end());
                break;
            }
            send(mrp::device_information_reply(message, state_.description()), out);
            break;
        case ProtocolMessage::CRYPTO_PAIRING_MESSAGE:
            handle_pairing(message, out);
            break;
        case ProtocolMessage::SET_CONNECTION_STATE_MESSAGE:
            connected_state_seen_ = true;
            break;
        case ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE:
            if (misbehaving(Misbehaviour::stall_connect)) {
                break;
            }
            send(mrp::reply_to(message, ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE), out);
            subscribe_to_updates(out);
            break;
        case ProtocolMessage::GET_KEYBOARD_SESSION_MESSAGE: {
            auto reply = mrp::reply_to(message, ProtocolMessage::KEYBOARD_MESSAGE);
            reply.MutableExtension(mrp::proto::keyboardMessage)
                ->set_state(mrp::proto::KeyboardMessage::NotEditing);
            send(reply, out);
            break;
        }
        case ProtocolMessage::GENERIC_MESSAGE:
            if (state_.answer_heartbeats) {
                send(mrp::reply_to(message, ProtocolMessage::GENERIC_MESSAGE), out);
            }
            break;
        default: {
            std::vector<mrp::ProtocolMessage> replies;
            state_.media().handle(message, replies);
            for (const mrp::ProtocolMessage& reply : replies) {
                send(reply, out);
            }
            break;
        }
    }
}

void FakeDeviceSession::handle_pairing(const mrp::ProtocolMessage& message, Output& out) {
    const auto raw = mrp::pairing_data(message);
    if (!raw) {
        return;
    }
    if (state_.config().misbehaviour == Misbehaviour::drop_handshake) {
        out.close = true;
        return;
    }
    const hap::Tlv8 request = hap::Tlv8::decode(*raw);
    const auto seq_no = seq_no_of(request);
    const auto method = request.get_byte(hap::TlvType::method);
    if (seq_no == 1) {
        const bool verify = method
                                ? *method == static_cast<std::uint8_t>(hap::TlvMethod::pair_verify)
                                : request.get(hap::TlvType::public_key).has_value();
        exchange_ = verify ? Exchange::verify : Exchange::setup;
    }
    if (exchange_ == Exchange::setup) {
        handle_pair_setup(request, *raw, out);
    } else if (exchange_ == Exchange::verify) {
        handle_pair_verify(*raw, out);
    }
}

void FakeDeviceSession::handle_pair_setup(const hap::Tlv8& request, ByteView raw, Output& out) {
    const FakeAtvConfig& config = state_.config();
    if (config.misbehaviour == Misbehaviour::stall_setup) {
        return;
    }
    const auto seq_no = seq_no_of(request);
    if (seq_no == 1) {
        if (config.misbehaviour == Misbehaviour::back_off) {
            send_pairing(hap_back_off_refusal(config.back_off), out);
            return;
        }
        if (const auto error = refusal_error(config.misbehaviour)) {
            hap::Tlv8 refusal;
            refusal.add(hap::TlvType::seq_no, std::uint8_t{2});
            refusal.add(hap::TlvType::error, *error);
            send_pairing(refusal.encode(), out);
            return;
        }
        setup_.emplace(state_.identity(), state_.show_pin());
    }
    if (!setup_) {
        return;
    }
    if ((seq_no == 3 && misbehaving(Misbehaviour::stall_setup_m4)) ||
        (seq_no == 5 && misbehaving(Misbehaviour::stall_setup_m6))) {
        return;
    }
    if ((seq_no == 3 && misbehaving(Misbehaviour::reset_setup_m3)) ||
        (seq_no == 5 && misbehaving(Misbehaviour::reset_setup_m5))) {
        out.close = true;
        return;
    }
    Bytes reply = setup_->handle(raw);
    if (seq_no == 1) {
        if (auto hostile = hostile_m2(reply)) {
            reply = std::move(*hostile);
        }
        if (misbehaving(Misbehaviour::duplicate_reply)) {
            send_pairing(reply, out);
        }
    }
    if (seq_no == 3 && config.misbehaviour == Misbehaviour::wrong_proof) {
        reply = corrupt_proof(reply);
    }
    if (seq_no == 5 && misbehaving(Misbehaviour::bad_m6)) {
        reply = tamper_encrypted_data(reply);
    } else if (seq_no == 5 && setup_->paired()) {
        state_.add_controller(*setup_->controller());
    }
    send_pairing(reply, out);
}

std::optional<Bytes> FakeDeviceSession::hostile_m2(ByteView honest) const {
    const hap::Tlv8 m2 = hap::Tlv8::decode(honest);
    hap::Tlv8 hostile;
    switch (state_.config().misbehaviour) {
        case Misbehaviour::truncated_tlv:
            // The last item (a fragment of the public key) promises more than follows.
            return Bytes(honest.begin(), honest.end() - 7);
        case Misbehaviour::oversized_tlv:
            hostile.add(hap::TlvType::seq_no, std::uint8_t{2});
            hostile.add(hap::TlvType::salt, *m2.get(hap::TlvType::salt));
            hostile.add(hap::TlvType::public_key, Bytes(oversized_key_bytes, 0x42));
            return hostile.encode();
        case Misbehaviour::missing_salt:
            hostile.add(hap::TlvType::seq_no, std::uint8_t{2});
            hostile.add(hap::TlvType::public_key, *m2.get(hap::TlvType::public_key));
            return hostile.encode();
        case Misbehaviour::wrong_seq:
            hostile.add(hap::TlvType::seq_no, std::uint8_t{6});
            hostile.add(hap::TlvType::salt, *m2.get(hap::TlvType::salt));
            hostile.add(hap::TlvType::public_key, *m2.get(hap::TlvType::public_key));
            return hostile.encode();
        default:
            return std::nullopt;
    }
}

void FakeDeviceSession::handle_pair_verify(ByteView raw, Output& out) {
    const hap::Tlv8 request = hap::Tlv8::decode(raw);
    const auto seq_no = seq_no_of(request);
    if ((seq_no == 1 && misbehaving(Misbehaviour::stall_verify)) ||
        (seq_no == 3 && misbehaving(Misbehaviour::stall_verify_m4))) {
        return;
    }
    if (seq_no == 3 && misbehaving(Misbehaviour::reset_verify)) {
        out.close = true;
        return;
    }
    if (seq_no == 1 && misbehaving(Misbehaviour::verify_back_off)) {
        send_pairing(hap_back_off_refusal(state_.config().back_off), out);
        return;
    }
    if (seq_no == 1) {
        const bool reject = state_.config().misbehaviour == Misbehaviour::reject_credentials;
        verify_.emplace(state_.identity(),
                        [this, reject](std::string_view client_id) -> std::optional<Bytes> {
                            if (reject) {
                                return std::nullopt;
                            }
                            return state_.controller_ltpk(client_id);
                        });
    }
    if (!verify_) {
        return;
    }
    Bytes reply = verify_->handle(raw);
    if (seq_no == 1 && misbehaving(Misbehaviour::bad_verify_m2)) {
        reply = tamper_encrypted_data(reply);
    }
    send_pairing(reply, out);
    if (verify_->verified() && !cipher_) {
        // The reply above still went out in plain text; everything after it is sealed.
        const SecretBytes wrong_secret(random_bytes(32));
        cipher_ = mrp::device_session_cipher(misbehaving(Misbehaviour::wrong_session_key)
                                                 ? wrong_secret.view()
                                                 : verify_->shared_secret().view());
    }
}

// ---- FakeAppleTv ----

FakeAppleTv::FakeAppleTv(asio::any_io_executor executor, FakeAtvConfig config)
    : state_(std::make_unique<FakeAtvState>(std::move(config))),
      server_(std::move(executor), "fake-atv") {}

void FakeAppleTv::start() {
    server_.start(state_->config().bind_address, state_->config().port,
                  [this](asio::ip::tcp::socket& socket) { return serve(socket); });
}

// Like relay(), with pushes from the media side between the answers.
asio::awaitable<void> FakeAppleTv::serve(asio::ip::tcp::socket& socket) {
    PushWriter writer(socket);
    asio::steady_timer drop(socket.get_executor());
    // The timer may have fired, its handler queued, just as the connection ended by itself:
    // the handler must then leave the socket (gone with this call) alone.
    const auto serving = std::make_shared<bool>(true);
    if (const auto within = state_->config().drop_within; within.count() > 0) {
        // A flaky device: the connection ends at a random moment, mid-handshake or after it.
        static std::minstd_rand random(std::random_device{}());
        drop.expires_after(std::chrono::milliseconds(
            std::uniform_int_distribution<std::int64_t>(0, within.count())(random)));
        drop.async_wait([&socket, alive = std::weak_ptr<bool>(serving)](std::error_code ec) {
            if (!ec && !alive.expired()) {
                std::error_code ignored;
                socket.close(ignored);
            }
        });
    }
    {
        FakeDeviceSession session(*state_);
        session.on_push([&writer](Bytes bytes) { writer.write(std::move(bytes)); });
        std::array<std::uint8_t, 16 * 1024> chunk{};
        for (;;) {
            std::error_code ec;
            const std::size_t count = co_await socket.async_read_some(
                asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                break;
            }
            auto out = session.receive(ByteView(chunk.data(), count));
            writer.write(std::move(out.bytes));
            if (out.close) {
                break;
            }
        }
    }
    co_await writer.flush();
}

}  // namespace atv::fakes
