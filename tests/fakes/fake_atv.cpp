#include "fake_atv.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "atv/error.hpp"
#include "hap/tlv8.hpp"
#include "mrp/handshake.hpp"

namespace atv::fakes {

namespace {

constexpr std::uint8_t hap_error_authentication = 2;
constexpr std::uint8_t hap_error_back_off = 3;

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

std::optional<Misbehaviour> misbehaviour_from_string(std::string_view name) {
    for (auto mode :
         {Misbehaviour::none, Misbehaviour::wrong_proof, Misbehaviour::stall_setup,
          Misbehaviour::drop_handshake, Misbehaviour::reject_credentials, Misbehaviour::back_off}) {
        if (to_string(mode) == name) {
            return mode;
        }
    }
    return std::nullopt;
}

std::string_view to_string(Misbehaviour misbehaviour) {
    switch (misbehaviour) {
        case Misbehaviour::none:
            return "none";
        case Misbehaviour::wrong_proof:
            return "wrong-proof";
        case Misbehaviour::stall_setup:
            return "stall-setup";
        case Misbehaviour::drop_handshake:
            return "drop-handshake";
        case Misbehaviour::reject_credentials:
            return "reject-credentials";
        case Misbehaviour::back_off:
            return "back-off";
    }
    return "none";
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
      unique_identifier_(config_.id.empty() ? uuid_from_seed(config_.name) : config_.id) {
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
        if (ByteView(key).size() == ltpk.size() && std::equal(key.begin(), key.end(), ltpk.begin())) {
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
            send(mrp::device_information_reply(message, state_.description()), out);
            break;
        case ProtocolMessage::CRYPTO_PAIRING_MESSAGE:
            handle_pairing(message, out);
            break;
        case ProtocolMessage::SET_CONNECTION_STATE_MESSAGE:
            connected_state_seen_ = true;
            break;
        case ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE:
            send(mrp::reply_to(message, ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE), out);
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
        default:
            break;
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
            hap::Tlv8 refusal;
            refusal.add(hap::TlvType::seq_no, std::uint8_t{2});
            refusal.add(hap::TlvType::error, hap_error_back_off);
            Bytes seconds;
            for (auto value = static_cast<std::uint64_t>(config.back_off.count()); value != 0;
                 value >>= 8) {
                seconds.push_back(static_cast<std::uint8_t>(value));
            }
            refusal.add(hap::TlvType::back_off, seconds.empty() ? Bytes{0} : seconds);
            send_pairing(refusal.encode(), out);
            return;
        }
        setup_.emplace(state_.identity(), state_.show_pin());
    }
    if (!setup_) {
        return;
    }
    Bytes reply = setup_->handle(raw);
    if (seq_no == 3 && config.misbehaviour == Misbehaviour::wrong_proof) {
        reply = corrupt_proof(reply);
    }
    if (seq_no == 5 && setup_->paired()) {
        state_.add_controller(*setup_->controller());
    }
    send_pairing(reply, out);
}

void FakeDeviceSession::handle_pair_verify(ByteView raw, Output& out) {
    const hap::Tlv8 request = hap::Tlv8::decode(raw);
    if (seq_no_of(request) == 1) {
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
    const Bytes reply = verify_->handle(raw);
    send_pairing(reply, out);
    if (verify_->verified() && !cipher_) {
        // The reply above still went out in plain text; everything after it is sealed.
        cipher_ = mrp::device_session_cipher(verify_->shared_secret().view());
    }
}

// ---- FakeAppleTv ----

FakeAppleTv::FakeAppleTv(asio::any_io_executor executor, FakeAtvConfig config)
    : executor_(executor),
      state_(std::make_unique<FakeAtvState>(std::move(config))),
      acceptor_(executor),
      tasks_done_(executor) {}

FakeAppleTv::~FakeAppleTv() {
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto& socket : sockets_) {
        socket.close(ignored);
    }
}

void FakeAppleTv::start() {
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(state_->config().bind_address),
                                           state_->config().port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    ++active_tasks_;
    asio::co_spawn(executor_, accept_loop(), [this](std::exception_ptr error) {
        if (error) {
            spdlog::error("fake-atv: the accept loop failed");
        }
        task_finished();
    });
}

void FakeAppleTv::task_finished() {
    if (--active_tasks_ == 0) {
        tasks_done_.cancel();
    }
}

asio::awaitable<void> FakeAppleTv::accept_loop() {
    while (!stopping_) {
        std::error_code ec;
        asio::ip::tcp::socket socket =
            co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) {
                co_return;
            }
            continue;
        }
        auto position = sockets_.insert(sockets_.end(), std::move(socket));
        ++active_tasks_;
        asio::co_spawn(executor_, serve(position), [this](std::exception_ptr error) {
            if (error) {
                spdlog::warn("fake-atv: a connection ended with an error");
            }
            task_finished();
        });
    }
}

asio::awaitable<void> FakeAppleTv::serve(std::list<asio::ip::tcp::socket>::iterator socket) {
    FakeDeviceSession session(*state_);
    std::array<std::uint8_t, 16 * 1024> chunk{};
    while (!stopping_) {
        std::error_code ec;
        const std::size_t count = co_await socket->async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            break;
        }
        auto out = session.receive(ByteView(chunk.data(), count));
        if (!out.bytes.empty()) {
            co_await asio::async_write(*socket, asio::buffer(out.bytes),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                break;
            }
        }
        if (out.close) {
            break;
        }
    }
    std::error_code ignored;
    socket->close(ignored);
    sockets_.erase(socket);
}

void FakeAppleTv::drop_connections() {
    for (auto& socket : sockets_) {
        std::error_code ignored;
        socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
}

asio::awaitable<void> FakeAppleTv::stop() {
    stopping_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    drop_connections();
    while (active_tasks_ > 0) {
        tasks_done_.expires_at(asio::steady_timer::time_point::max());
        std::error_code ec;
        co_await tasks_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace atv::fakes
