#include "fake_airplay.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "airplay/datastream.hpp"
#include "airplay/plist.hpp"
#include "atv/error.hpp"
#include "hap/tlv8.hpp"
#include "mrp/framing.hpp"
#include "push_writer.hpp"

namespace atv::fakes {

namespace {

using http::Request;
using http::Response;

http::Response status(int code, std::string reason) {
    http::Response response;
    response.status = code;
    response.reason = std::move(reason);
    return response;
}

http::Response plist_answer(const airplay::PlistValue& value) {
    http::Response response;
    response.headers.add("Content-Type", "application/x-apple-binary-plist");
    response.body = airplay::plist_encode(value);
    return response;
}

http::Response tlv_answer(Bytes tlv8) {
    http::Response response;
    response.headers.add("Content-Type", "application/octet-stream");
    response.body = std::move(tlv8);
    return response;
}

// Legacy verify opens with 01 00 00 00 and closes with 00 00 00 00, each with 64 bytes of keys
// or signature; HAP's TLV8 never looks like that.
bool is_legacy_verify(ByteView body) {
    return body.size() == 68 && (body[0] == 0 || body[0] == 1) && body[1] == 0 && body[2] == 0 &&
           body[3] == 0;
}

Bytes data_of(const airplay::PlistValue& value, const char* key) {
    const airplay::PlistValue* item = value.find(key);
    const auto data = item != nullptr ? item->data() : std::nullopt;
    return data ? Bytes(data->begin(), data->end()) : Bytes{};
}

}  // namespace

FakeAirPlaySession::Output FakeAirPlaySession::receive(ByteView data) {
    Output out;
    try {
        if (cipher_) {
            const auto opened = cipher_->decrypt(data);
            if (opened)
                reader_.feed(*opened);
        } else {
            reader_.feed(data);
        }
        while (auto request = reader_.next_request()) {
            handle(*request, out);
            if (out.close)
                break;
        }
    } catch (const Error& error) {
        spdlog::warn("fake-airplay: closing a connection: {}", error.what());
        out.close = true;
    }
    return out;
}

void FakeAirPlaySession::handle(const http::Request& request, Output& out) {
    seen_.push_back(request.method + " " + request.target);
    ++state_.messages_handled;
    const Misbehaviour misbehaviour = state_.config().misbehaviour;
    const bool pairing = request.target == "/pair-setup" || request.target == "/pair-verify" ||
                         request.target == "/pair-pin-start" || request.target == "/pair-setup-pin";
    if (pairing && misbehaviour == Misbehaviour::drop_handshake) {
        out.close = true;
        return;
    }
    if (request.method != "POST" && pairing) {
        send(status(405, "Method Not Allowed"), request, out);
    } else if (request.target == "/pair-pin-start") {
        state_.show_pin();
        pin_shown_ = true;
        send(status(200, "OK"), request, out);
    } else if (request.target == "/pair-setup") {
        if (misbehaviour == Misbehaviour::stall_setup)
            return;
        send(pair_setup(request), request, out);
    } else if (request.target == "/pair-setup-pin") {
        send(legacy_setup(request), request, out);
    } else if (request.target == "/pair-verify" && is_legacy_verify(request.body)) {
        send(legacy_verify(request), request, out);
    } else if (request.target == "/pair-verify") {
        send(pair_verify(request), request, out);
    } else if (!cipher_) {
        // Everything but pairing needs a verified (encrypted) connection.
        send(status(470, "Connection Authorization Required"), request, out);
    } else if (request.method == "SETUP") {
        send(setup(request), request, out);
    } else if (request.method == "RECORD" || request.target == "/feedback" ||
               request.method == "TEARDOWN") {
        send(status(200, "OK"), request, out);
    } else {
        send(status(404, "Not Found"), request, out);
    }
}

http::Response FakeAirPlaySession::pair_setup(const http::Request& request) {
    const hap::Tlv8 tlv = hap::Tlv8::decode(request.body);
    const auto seq_no = tlv.get_byte(hap::TlvType::seq_no);
    const bool transient =
        (tlv.get_byte(hap::TlvType::flags).value_or(0) & hap::tlv_flag_transient) != 0;
    if (seq_no == 1) {
        // A transient pairing has its fixed PIN and shows none; a normal one uses the PIN on
        // screen.
        const std::string pin = transient    ? std::string("3939")
                                : pin_shown_ ? state_.current_pin()
                                             : state_.show_pin();
        setup_.emplace(state_.identity(), pin);
        pin_shown_ = false;
    }
    if (!setup_)
        return status(400, "Bad Request");
    const Bytes reply = setup_->handle(request.body);
    if (seq_no == 5 && setup_->paired())
        state_.add_controller(*setup_->controller());
    if (seq_no == 3 && !setup_->srp_session_key().empty()) {
        // Transient: encrypted from the next request on, keyed by the SRP key.
        shared_ = setup_->srp_session_key();
        pending_keys_ = hap::reversed(hap::airplay_control_keys(setup_->srp_session_key().view()));
    }
    return tlv_answer(reply);
}

http::Response FakeAirPlaySession::pair_verify(const http::Request& request) {
    const auto seq_no = hap::Tlv8::decode(request.body).get_byte(hap::TlvType::seq_no);
    if (seq_no == 1) {
        const bool reject = state_.config().misbehaviour == Misbehaviour::reject_credentials;
        verify_.emplace(state_.identity(),
                        [this, reject](std::string_view client_id) -> std::optional<Bytes> {
                            if (reject)
                                return std::nullopt;
                            return state_.controller_ltpk(client_id);
                        });
    }
    if (!verify_)
        return status(400, "Bad Request");
    const Bytes reply = verify_->handle(request.body);
    if (verify_->verified() && !cipher_) {
        shared_ = verify_->shared_secret();
        pending_keys_ = hap::reversed(hap::airplay_control_keys(verify_->shared_secret().view()));
    }
    return tlv_answer(reply);
}

// /pair-setup-pin: {method, user} -> {pk, salt}; {pk, proof} -> {proof} or 470 for a wrong
// PIN; {epk, authTag} -> our record of the client's Ed25519 key.
http::Response FakeAirPlaySession::legacy_setup(const http::Request& request) {
    namespace legacy = airplay::legacy;
    const airplay::PlistValue body = airplay::plist_decode(request.body);
    if (const auto* user = body.find("user"); user != nullptr && user->string()) {
        legacy_user_ = std::string(*user->string());
        const std::string pin = pin_shown_ ? state_.current_pin() : state_.show_pin();
        pin_shown_ = false;
        legacy_srp_.emplace(legacy::srp_group(), legacy_user_, pin);
        legacy_proven_ = false;
        return plist_answer(
            airplay::PlistDict{{"pk", legacy_srp_->public_B()}, {"salt", legacy_srp_->salt()}});
    }
    if (!legacy_srp_)
        return status(400, "Bad Request");
    if (body.find("proof") != nullptr) {
        const auto m2 = legacy_srp_->verify_client(data_of(body, "pk"), data_of(body, "proof"));
        if (!m2) {
            legacy_srp_.reset();
            return status(470, "Connection Authorization Required");
        }
        legacy_proven_ = true;
        return plist_answer(airplay::PlistDict{{"proof", *m2}});
    }
    if (!legacy_proven_)
        return status(400, "Bad Request");
    const legacy::SealedKey sealed{data_of(body, "epk"), data_of(body, "authTag")};
    const auto key = legacy::open_public_key(legacy_srp_->session_key_K().view(), sealed);
    legacy_srp_.reset();
    if (!key)
        return status(470, "Connection Authorization Required");
    state_.add_controller(hap::PairedController{legacy_user_, *key, {}});
    return plist_answer(airplay::PlistDict{});
}

// Legacy /pair-verify: our X25519 key and sealed signature, then the client's sealed signature.
http::Response FakeAirPlaySession::legacy_verify(const http::Request& request) {
    const ByteView body(request.body);
    if (body[0] == 1) {
        LegacyVerify verify;
        verify.client_exchange.assign(body.begin() + 4, body.begin() + 36);
        verify.client_signing.assign(body.begin() + 36, body.end());
        const auto exchange = hap::X25519KeyPair::generate();
        verify.device_exchange = exchange.public_key;
        const SecretBytes shared = exchange.shared_secret(verify.client_exchange);
        verify.stream = std::make_unique<airplay::legacy::VerifyStream>(shared.view());
        Bytes signed_keys = verify.device_exchange;
        signed_keys.insert(signed_keys.end(), verify.client_exchange.begin(),
                           verify.client_exchange.end());
        const Bytes sealed = verify.stream->apply(state_.identity().keys.sign(signed_keys));
        http::Response response;
        response.headers.add("Content-Type", "application/octet-stream");
        response.body = verify.device_exchange;
        response.body.insert(response.body.end(), sealed.begin(), sealed.end());
        legacy_verify_ = std::move(verify);
        return response;
    }
    if (!legacy_verify_)
        return status(400, "Bad Request");
    LegacyVerify verify = std::move(*legacy_verify_);
    legacy_verify_.reset();
    const Bytes signature = verify.stream->apply(body.subspan(4));
    Bytes signed_keys = verify.client_exchange;
    signed_keys.insert(signed_keys.end(), verify.device_exchange.begin(),
                       verify.device_exchange.end());
    const bool reject = state_.config().misbehaviour == Misbehaviour::reject_credentials;
    if (reject || !state_.has_controller_key(verify.client_signing) ||
        !hap::ed25519_verify(verify.client_signing, signed_keys, signature)) {
        return status(470, "Connection Authorization Required");
    }
    return status(200, "OK");
}

// The first SETUP opens the session (event channel), the second the MRP data stream.
http::Response FakeAirPlaySession::setup(const http::Request& request) {
    if (hooks_ == nullptr)
        return status(501, "Not Implemented");
    const airplay::PlistValue body = airplay::plist_decode(request.body);
    const airplay::PlistValue* streams = body.find("streams");
    if (streams == nullptr) {
        hooks_->expect_events(shared_);
        return plist_answer(airplay::PlistDict{{"eventPort", std::uint64_t{hooks_->event_port}},
                                               {"timingPort", 0}});
    }
    const auto* list = streams->array();
    const airplay::PlistValue* stream = list && !list->empty() ? &list->front() : nullptr;
    const auto seed = stream ? stream->find("seed") : nullptr;
    const auto type = stream ? stream->find("type") : nullptr;
    if (seed == nullptr || !seed->integer() || type == nullptr || type->integer() != 130u) {
        return status(400, "Bad Request");
    }
    hooks_->expect_data(shared_, *seed->integer());
    const airplay::PlistValue answer = airplay::PlistDict{
        {"streams", airplay::PlistArray{airplay::PlistDict{
                        {"type", 130}, {"dataPort", std::uint64_t{hooks_->data_port}}}}}};
    return plist_answer(answer);
}

void FakeAirPlaySession::send(http::Response response, const http::Request& request, Output& out) {
    if (request.protocol == "RTSP/1.0")
        response.protocol = "RTSP/1.0";
    if (const auto cseq = request.headers.get("CSeq")) {
        response.headers.add("CSeq", std::string(*cseq));
    }
    response.headers.add("Server", "AirTunes/595.13.1");
    const Bytes wire = http::encode(response);
    const Bytes sealed = cipher_ ? cipher_->encrypt(wire) : wire;
    out.bytes.insert(out.bytes.end(), sealed.begin(), sealed.end());
    // The answer that completed a pairing went out in plain text; everything after it is sealed.
    if (pending_keys_) {
        cipher_.emplace(*pending_keys_);
        pending_keys_.reset();
    }
}

// ---- FakeAirPlay ----

FakeAirPlay::FakeAirPlay(asio::any_io_executor executor, FakeAtvState& state, std::uint16_t port)
    : state_(state),
      requested_port_(port),
      control_(executor, "fake-airplay"),
      events_(executor, "fake-airplay events"),
      data_(executor, "fake-airplay data") {
    hooks_.expect_events = [this](const SecretBytes& shared) { pending_events_.push_back(shared); };
    hooks_.expect_data = [this](const SecretBytes& shared, std::uint64_t seed) {
        pending_data_.emplace_back(shared, seed);
    };
}

void FakeAirPlay::start() {
    const std::string& address = state_.config().bind_address;
    control_.start(address, requested_port_,
                   [this](asio::ip::tcp::socket& socket) { return serve(socket); });
    events_.start(address, 0,
                  [this](asio::ip::tcp::socket& socket) { return serve_events(socket); });
    data_.start(address, 0, [this](asio::ip::tcp::socket& socket) { return serve_data(socket); });
    hooks_.event_port = events_.port();
    hooks_.data_port = data_.port();
}

asio::awaitable<void> FakeAirPlay::serve(asio::ip::tcp::socket& socket) {
    FakeAirPlaySession session(state_, &hooks_);
    auto relaying = relay(socket, [&](ByteView data) {
        const std::size_t seen_before = session.requests_seen().size();
        auto out = session.receive(data);
        const auto& seen = session.requests_seen();
        seen_.insert(seen_.end(), seen.begin() + static_cast<std::ptrdiff_t>(seen_before),
                     seen.end());
        return out;
    });
    co_await std::move(relaying);
}

// Sends the receiver's "updateInfo" command once and counts the client's answers. A connection
// nobody set up with a SETUP is hung up on, as a receiver does.
asio::awaitable<void> FakeAirPlay::serve_events(asio::ip::tcp::socket& socket) {
    if (pending_events_.empty())
        co_return;
    const SecretBytes shared = std::move(pending_events_.front());
    pending_events_.pop_front();
    hap::HapFrameCipher cipher(hap::reversed(hap::airplay_event_keys(shared.view())));
    http::Request command;
    command.method = "POST";
    command.target = "/command";
    command.protocol = "RTSP/1.0";
    command.headers.add("CSeq", "1");
    command.body = airplay::plist_encode(airplay::PlistDict{{"type", "updateInfo"}});
    const Bytes sealed = cipher.encrypt(http::encode(command));
    std::error_code ec;
    co_await asio::async_write(socket, asio::buffer(sealed),
                               asio::redirect_error(asio::use_awaitable, ec));
    http::Reader reader(http::Reader::Kind::response);
    std::array<std::uint8_t, 4096> chunk{};
    while (!ec) {
        const std::size_t count = co_await socket.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            break;
        try {
            if (auto opened = cipher.decrypt(ByteView(chunk.data(), count)))
                reader.feed(*opened);
            while (auto answer = reader.next_response()) {
                if (answer->status == 200 && answer->headers.get("CSeq") == "1")
                    ++event_answers_;
            }
        } catch (const Error& error) {
            spdlog::warn("fake-airplay: closing the event channel: {}", error.what());
            break;
        }
    }
}

// MRP inside the data channel: the MRP fake's session, without its own encryption.
asio::awaitable<void> FakeAirPlay::serve_data(asio::ip::tcp::socket& socket) {
    if (pending_data_.empty())
        co_return;
    const auto [shared, seed] = std::move(pending_data_.front());
    pending_data_.pop_front();
    ++open_tunnels_;
    if (tunnel_handler_)
        tunnel_handler_(true);
    airplay::DataStreamFraming framing(
        hap::reversed(hap::airplay_datastream_keys(shared.view(), seed)), 0x1A7D00000ULL, "cmnd");
    PushWriter writer(socket);
    {
        FakeDeviceSession session(state_);
        // Pushes leave in the data channel's frames, in order with the answers.
        session.on_push([&](Bytes framed) {
            if (!framed.empty())
                writer.write(framing.frame_framed(framed));
        });
        std::array<std::uint8_t, 16 * 1024> chunk{};
        for (;;) {
            std::error_code ec;
            const std::size_t count = co_await socket.async_read_some(
                asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
                break;
            bool close = false;
            try {
                std::vector<Bytes> messages;
                Bytes acknowledgements;
                framing.unframe(ByteView(chunk.data(), count), messages, acknowledgements);
                writer.write(std::move(acknowledgements));
                for (const Bytes& message : messages) {
                    auto answer = session.receive(mrp::encode_frame(message));
                    if (!answer.bytes.empty())
                        writer.write(framing.frame_framed(answer.bytes));
                    close = close || answer.close;
                }
            } catch (const Error& error) {
                spdlog::warn("fake-airplay: closing the data channel: {}", error.what());
                close = true;
            }
            if (close)
                break;
        }
    }
    co_await writer.flush();
    --open_tunnels_;
    if (tunnel_handler_)
        tunnel_handler_(false);
}

void FakeAirPlay::drop_connections() {
    control_.drop_connections();
    events_.drop_connections();
    data_.drop_connections();
}

asio::awaitable<void> FakeAirPlay::stop() {
    co_await control_.stop();
    co_await events_.stop();
    co_await data_.stop();
}

}  // namespace atv::fakes
