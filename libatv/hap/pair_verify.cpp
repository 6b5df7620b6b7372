#include "hap/pair_verify.hpp"

#include <string>

#include "hap/errors.hpp"
#include "hap/handshake.hpp"

namespace atv::hap {

using detail::concat;

namespace {

constexpr std::string_view verify_salt = "Pair-Verify-Encrypt-Salt";
constexpr std::string_view verify_info = "Pair-Verify-Encrypt-Info";

[[noreturn]] void verify_failure(const std::string& message) {
    throw Error(ErrorKind::authentication_failed, message);
}

SecretBytes verify_key(const SecretBytes& shared) {
    return SecretBytes(hkdf_sha512(shared.view(), verify_salt, verify_info));
}

}  // namespace

// ---- controller ----

PairVerifyController::PairVerifyController(const HapCredentials& credentials)
    : credentials_(credentials) {
    if (credentials_.ltpk.size() != 32 || credentials_.ltsk.size() != 32) {
        throw Error(ErrorKind::invalid_arguments, "pair-verify needs complete HAP credentials");
    }
}

void PairVerifyController::expect(State state, const char* step) const {
    if (state_ != state) {
        throw Error(ErrorKind::invalid_state,
                    std::string("pair-verify step ") + step + " called out of order");
    }
}

Bytes PairVerifyController::m1() {
    expect(State::start, "M1");
    ephemeral_ = X25519KeyPair::generate();
    Tlv8 request;
    request.add(TlvType::seq_no, std::uint8_t{1});
    request.add(TlvType::public_key, ephemeral_->public_key);
    state_ = State::sent_m1;
    return request.encode();
}

Bytes PairVerifyController::m3(ByteView m2) {
    expect(State::sent_m1, "M3");
    const Tlv8 answer = detail::decode_answer(m2, HapStage::pair_verify, 2);
    const auto device_ephemeral =
        detail::require_item(answer, TlvType::public_key, HapStage::pair_verify, 2, "public key");
    const auto sealed = detail::require_item(answer, TlvType::encrypted_data, HapStage::pair_verify,
                                             2, "encrypted data");
    SecretBytes shared = ephemeral_->shared_secret(device_ephemeral);
    const SecretBytes key = verify_key(shared);
    const auto plain = ChaCha20Poly1305::open(key.view(), label_nonce("PV-Msg02"), sealed);
    if (!plain) {
        verify_failure(
            "pair-verify M2 from the device does not decrypt: the connection is not "
            "to a device that knows these credentials");
    }
    const auto inner = detail::decode_request(*plain);
    if (!inner) {
        verify_failure("pair-verify M2 from the device holds malformed data");
    }
    const auto device_id =
        detail::require_item(*inner, TlvType::identifier, HapStage::pair_verify, 2, "device id");
    const auto signature =
        detail::require_item(*inner, TlvType::signature, HapStage::pair_verify, 2, "signature");
    if (!std::equal(device_id.begin(), device_id.end(), credentials_.device_id.begin(),
                    credentials_.device_id.end())) {
        verify_failure(
            "the device's identity differs from the one in the credentials: pair "
            "again or check that this is the paired device");
    }
    if (!ed25519_verify(credentials_.ltpk,
                        concat({device_ephemeral, device_id, ephemeral_->public_key}), signature)) {
        verify_failure(
            "the device's pair-verify signature does not match the credentials: pair "
            "again");
    }

    const Ed25519KeyPair long_term = Ed25519KeyPair::from_seed(credentials_.ltsk.view());
    Tlv8 inner_reply;
    inner_reply.add(TlvType::identifier, credentials_.client_id);
    inner_reply.add(
        TlvType::signature,
        long_term.sign(concat({ephemeral_->public_key, credentials_.client_id, device_ephemeral})));
    Tlv8 request;
    request.add(TlvType::seq_no, std::uint8_t{3});
    request.add(TlvType::encrypted_data,
                ChaCha20Poly1305::seal(key.view(), label_nonce("PV-Msg03"), inner_reply.encode()));
    shared_ = std::move(shared);
    state_ = State::sent_m3;
    return request.encode();
}

void PairVerifyController::finish(ByteView m4) {
    expect(State::sent_m3, "finish");
    detail::decode_answer(m4, HapStage::pair_verify, 4);
    state_ = State::done;
}

const SecretBytes& PairVerifyController::shared_secret() const {
    if (state_ != State::done) {
        throw Error(ErrorKind::invalid_state, "the shared secret exists once pair-verify ends");
    }
    return shared_;
}

// ---- accessory ----

PairVerifyAccessory::PairVerifyAccessory(AccessoryIdentity identity,
                                         ControllerLookup lookup_controller_ltpk)
    : identity_(std::move(identity)), lookup_(std::move(lookup_controller_ltpk)) {}

const SecretBytes& PairVerifyAccessory::shared_secret() const {
    if (!verified_) {
        throw Error(ErrorKind::invalid_state, "the shared secret exists once pair-verify ends");
    }
    return shared_;
}

Bytes PairVerifyAccessory::fail(std::uint8_t seq_no, std::uint8_t code) {
    sent_m2_ = false;
    verified_ = false;
    shared_.clear();
    return detail::error_answer(seq_no, code);
}

Bytes PairVerifyAccessory::handle(ByteView request) {
    const auto message = detail::decode_request(request);
    if (!message) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    const auto seq_no = message->get_byte(TlvType::seq_no).value_or(0);
    if (seq_no == 1) {
        return on_m1(*message);
    }
    if (seq_no == 3 && sent_m2_) {
        return on_m3(*message);
    }
    return fail(static_cast<std::uint8_t>(seq_no + 1),
                static_cast<std::uint8_t>(HapErrorCode::unknown));
}

Bytes PairVerifyAccessory::on_m1(const Tlv8& request) {
    verified_ = false;
    const auto controller_ephemeral = request.get(TlvType::public_key);
    if (!controller_ephemeral || controller_ephemeral->size() != 32) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    ephemeral_ = X25519KeyPair::generate();
    try {
        shared_ = ephemeral_->shared_secret(*controller_ephemeral);
    } catch (const Error&) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::authentication));
    }
    controller_ephemeral_ = Bytes(controller_ephemeral->begin(), controller_ephemeral->end());
    const Bytes device_id = to_bytes(identity_.device_id);
    Tlv8 inner;
    inner.add(TlvType::identifier, device_id);
    inner.add(
        TlvType::signature,
        identity_.keys.sign(concat({ephemeral_->public_key, device_id, controller_ephemeral_})));
    Tlv8 answer;
    answer.add(TlvType::seq_no, std::uint8_t{2});
    answer.add(TlvType::public_key, ephemeral_->public_key);
    answer.add(TlvType::encrypted_data,
               ChaCha20Poly1305::seal(verify_key(shared_).view(), label_nonce("PV-Msg02"),
                                      inner.encode()));
    sent_m2_ = true;
    return answer.encode();
}

Bytes PairVerifyAccessory::on_m3(const Tlv8& request) {
    constexpr auto authentication = static_cast<std::uint8_t>(HapErrorCode::authentication);
    const auto sealed = request.get(TlvType::encrypted_data);
    if (!sealed) {
        return fail(4, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    const auto plain =
        ChaCha20Poly1305::open(verify_key(shared_).view(), label_nonce("PV-Msg03"), *sealed);
    const auto inner = plain ? detail::decode_request(*plain) : std::nullopt;
    if (!inner) {
        return fail(4, authentication);
    }
    const auto client_id = inner->get(TlvType::identifier);
    const auto signature = inner->get(TlvType::signature);
    if (!client_id || !signature) {
        return fail(4, authentication);
    }
    const auto ltpk = lookup_(to_string(*client_id));
    if (!ltpk ||
        !ed25519_verify(*ltpk, concat({controller_ephemeral_, *client_id, ephemeral_->public_key}),
                        *signature)) {
        return fail(4, authentication);
    }
    Tlv8 answer;
    answer.add(TlvType::seq_no, std::uint8_t{4});
    sent_m2_ = false;
    verified_ = true;
    return answer.encode();
}

}  // namespace atv::hap
