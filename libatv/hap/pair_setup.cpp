#include "hap/pair_setup.hpp"

#include <cctype>

#include "hap/crypto.hpp"
#include "hap/handshake.hpp"

namespace atv::hap {

using detail::as_bytes;
using detail::concat;

namespace {

constexpr std::string_view srp_username = "Pair-Setup";
constexpr std::string_view transient_pin = "3939";
constexpr std::uint8_t method_pair_setup = static_cast<std::uint8_t>(TlvMethod::pair_setup);

struct SetupKeys {
    SecretBytes encrypt;
    SecretBytes controller_sign;
    SecretBytes accessory_sign;
};

SetupKeys derive_setup_keys(const SecretBytes& srp_key) {
    return SetupKeys{
        SecretBytes(
            hkdf_sha512(srp_key.view(), "Pair-Setup-Encrypt-Salt", "Pair-Setup-Encrypt-Info")),
        SecretBytes(hkdf_sha512(srp_key.view(), "Pair-Setup-Controller-Sign-Salt",
                                "Pair-Setup-Controller-Sign-Info")),
        SecretBytes(hkdf_sha512(srp_key.view(), "Pair-Setup-Accessory-Sign-Salt",
                                "Pair-Setup-Accessory-Sign-Info")),
    };
}

// OPACK encoding of the one-entry dictionary {"name": <text>} that Apple devices expect in the
// Name item.
Bytes opack_name_dict(std::string_view name) {
    Bytes out{0xe1, 0x44, 'n', 'a', 'm', 'e'};
    const std::size_t length = name.size();
    if (length <= 0x20) {
        out.push_back(static_cast<std::uint8_t>(0x40 + length));
    } else if (length <= 0xff) {
        out.push_back(0x61);
        out.push_back(static_cast<std::uint8_t>(length));
    } else if (length <= 0xffff) {
        out.push_back(0x62);
        out.push_back(static_cast<std::uint8_t>(length & 0xff));
        out.push_back(static_cast<std::uint8_t>(length >> 8));
    } else {
        throw Error(ErrorKind::invalid_arguments, "the display name is too long");
    }
    out.insert(out.end(), name.begin(), name.end());
    return out;
}

[[noreturn]] void setup_failure(const std::string& message) {
    throw Error(ErrorKind::pairing_failed, message);
}

}  // namespace

std::string normalise_pin(std::string_view pin) {
    std::string digits;
    for (const char c : pin) {
        if (c == '-') {
            continue;
        }
        if (!std::isdigit(static_cast<unsigned char>(c))) {
            throw Error(ErrorKind::invalid_arguments, "the PIN must consist of digits only");
        }
        digits.push_back(c);
    }
    if (digits.empty() || digits.size() > 8) {
        throw Error(ErrorKind::invalid_arguments, "the PIN must have between 1 and 8 digits");
    }
    if (digits.size() == 8) {
        // A HomeKit setup code: the accessory uses its printed XXX-XX-XXX form as the password.
        return digits.substr(0, 3) + '-' + digits.substr(3, 2) + '-' + digits.substr(5);
    }
    if (digits.size() < 4) {
        digits.insert(0, 4 - digits.size(), '0');
    }
    return digits;
}

// ---- controller ----

PairSetupController::PairSetupController(ClientIdentity identity,
                                         std::optional<std::string> display_name, bool transient,
                                         SrpIntegerEncoding encoding)
    : identity_(std::move(identity)),
      display_name_(std::move(display_name)),
      transient_(transient),
      group_(SrpGroup::rfc5054_3072_sha512().with_encoding(encoding)) {
    if (transient_) {
        password_ = std::string(transient_pin);
    }
}

void PairSetupController::expect(State state, const char* step) const {
    if (state_ != state) {
        throw Error(ErrorKind::invalid_state,
                    std::string("pair-setup step ") + step + " called out of order");
    }
}

Bytes PairSetupController::m1() {
    expect(State::start, "M1");
    Tlv8 request;
    request.add(TlvType::method, method_pair_setup);
    request.add(TlvType::seq_no, std::uint8_t{1});
    if (transient_) {
        request.add(TlvType::flags, tlv_flag_transient);
    }
    state_ = State::sent_m1;
    return request.encode();
}

void PairSetupController::set_pin(std::string pin) {
    if (transient_) {
        throw Error(ErrorKind::invalid_state, "transient pairing uses a fixed PIN");
    }
    password_ = normalise_pin(pin);
    wipe(pin.data(), pin.size());
}

Bytes PairSetupController::m3(ByteView m2) {
    expect(State::sent_m1, "M3");
    if (!password_) {
        throw Error(ErrorKind::invalid_state, "enter the PIN shown on the device first");
    }
    const Tlv8 answer = detail::decode_answer(m2, HapStage::pair_setup, 2);
    const auto salt = detail::require_item(answer, TlvType::salt, HapStage::pair_setup, 2, "salt");
    const auto public_B = detail::require_item(answer, TlvType::public_key, HapStage::pair_setup, 2,
                                               "SRP public key");
    srp_.emplace(group_, std::string(srp_username), *password_, salt, public_B);

    Tlv8 request;
    request.add(TlvType::seq_no, std::uint8_t{3});
    request.add(TlvType::public_key, srp_->public_A());
    request.add(TlvType::proof, srp_->proof_M1());
    state_ = State::sent_m3;
    return request.encode();
}

void PairSetupController::verify_device_proof(ByteView m4) {
    expect(State::sent_m3, "M5");
    const Tlv8 answer = detail::decode_answer(m4, HapStage::pair_setup, 4);
    const auto proof =
        detail::require_item(answer, TlvType::proof, HapStage::pair_setup, 4, "proof");
    if (!srp_->verify_server_proof(proof)) {
        setup_failure(
            "the device's SRP proof is wrong: it may not be the device you meant to "
            "pair with; pairing aborted");
    }
}

Bytes PairSetupController::m5(ByteView m4) {
    if (transient_) {
        throw Error(ErrorKind::invalid_state, "transient pairing ends after M4");
    }
    verify_device_proof(m4);
    const SetupKeys keys = derive_setup_keys(srp_->session_key_K());
    const Bytes client_id = to_bytes(identity_.client_id);
    const Bytes signature = identity_.keys.sign(
        concat({keys.controller_sign.view(), client_id, identity_.keys.public_key}));

    Tlv8 inner;
    inner.add(TlvType::identifier, client_id);
    inner.add(TlvType::public_key, identity_.keys.public_key);
    inner.add(TlvType::signature, signature);
    if (display_name_) {
        inner.add(TlvType::name, opack_name_dict(*display_name_));
    }
    Tlv8 request;
    request.add(TlvType::seq_no, std::uint8_t{5});
    request.add(
        TlvType::encrypted_data,
        ChaCha20Poly1305::seal(keys.encrypt.view(), label_nonce("PS-Msg05"), inner.encode()));
    state_ = State::sent_m5;
    return request.encode();
}

HapCredentials PairSetupController::finish(ByteView m6) {
    expect(State::sent_m5, "finish");
    const Tlv8 answer = detail::decode_answer(m6, HapStage::pair_setup, 6);
    const auto sealed = detail::require_item(answer, TlvType::encrypted_data, HapStage::pair_setup,
                                             6, "encrypted data");
    const SetupKeys keys = derive_setup_keys(srp_->session_key_K());
    const auto plain = ChaCha20Poly1305::open(keys.encrypt.view(), label_nonce("PS-Msg06"), sealed);
    if (!plain) {
        setup_failure("pair-setup M6 from the device does not decrypt: pairing aborted");
    }
    const auto inner_or_none = detail::decode_request(*plain);
    if (!inner_or_none) {
        setup_failure("pair-setup M6 from the device holds malformed data: pairing aborted");
    }
    const Tlv8& inner = *inner_or_none;
    const auto device_id =
        detail::require_item(inner, TlvType::identifier, HapStage::pair_setup, 6, "device id");
    const auto device_ltpk =
        detail::require_item(inner, TlvType::public_key, HapStage::pair_setup, 6, "device key");
    const auto signature =
        detail::require_item(inner, TlvType::signature, HapStage::pair_setup, 6, "signature");
    if (!ed25519_verify(device_ltpk, concat({keys.accessory_sign.view(), device_id, device_ltpk}),
                        signature)) {
        setup_failure("the device's pair-setup signature is invalid: pairing aborted");
    }
    state_ = State::done;
    HapCredentials credentials;
    credentials.ltpk = Bytes(device_ltpk.begin(), device_ltpk.end());
    credentials.ltsk = identity_.keys.seed;
    credentials.device_id = Bytes(device_id.begin(), device_id.end());
    credentials.client_id = to_bytes(identity_.client_id);
    return credentials;
}

void PairSetupController::finish_transient(ByteView m4) {
    if (!transient_) {
        throw Error(ErrorKind::invalid_state, "finish_transient() needs a transient pairing");
    }
    verify_device_proof(m4);
    state_ = State::done;
}

const SecretBytes& PairSetupController::srp_session_key() const {
    if (state_ != State::done || !srp_) {
        throw Error(ErrorKind::invalid_state, "the SRP session key exists once pair-setup ends");
    }
    return srp_->session_key_K();
}

// ---- accessory ----

PairSetupAccessory::PairSetupAccessory(AccessoryIdentity identity, std::string pin,
                                       PairSetupAccessoryPolicy policy, SrpIntegerEncoding encoding)
    : identity_(std::move(identity)),
      pin_(normalise_pin(pin)),
      policy_(policy),
      group_(SrpGroup::rfc5054_3072_sha512().with_encoding(encoding)) {}

const SecretBytes& PairSetupAccessory::srp_session_key() const {
    return transient_key_;
}

Bytes PairSetupAccessory::fail(std::uint8_t seq_no, std::uint8_t code) {
    state_ = State::idle;
    srp_.reset();
    return detail::error_answer(seq_no, code);
}

Bytes PairSetupAccessory::handle(ByteView request) {
    const auto message = detail::decode_request(request);
    if (!message) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    const auto seq_no = message->get_byte(TlvType::seq_no).value_or(0);
    if (seq_no == 1) {
        return on_m1(*message);
    }
    if (seq_no == 3 && state_ == State::sent_m2) {
        return on_m3(*message);
    }
    if (seq_no == 5 && state_ == State::sent_m4 && !transient_) {
        return on_m5(*message);
    }
    return fail(static_cast<std::uint8_t>(seq_no + 1),
                static_cast<std::uint8_t>(HapErrorCode::unknown));
}

Bytes PairSetupAccessory::on_m1(const Tlv8& request) {
    const auto method = request.get_byte(TlvType::method);
    if (method != method_pair_setup &&
        method != static_cast<std::uint8_t>(TlvMethod::pair_setup_with_auth)) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    if (paired()) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::unavailable));
    }
    if (failed_tries_ >= policy_.max_tries) {
        return fail(2, static_cast<std::uint8_t>(HapErrorCode::max_tries));
    }
    if (back_off_pending_) {
        back_off_pending_ = false;
        Tlv8 answer;
        answer.add(TlvType::seq_no, std::uint8_t{2});
        answer.add(TlvType::error, static_cast<std::uint8_t>(HapErrorCode::back_off));
        std::uint64_t seconds = static_cast<std::uint64_t>(policy_.back_off_after_failure.count());
        Bytes little_endian;
        do {
            little_endian.push_back(static_cast<std::uint8_t>(seconds & 0xff));
            seconds >>= 8;
        } while (seconds != 0);
        answer.add(TlvType::back_off, little_endian);
        state_ = State::idle;
        return answer.encode();
    }
    const auto flags = request.get_byte(TlvType::flags).value_or(0);
    transient_ = (flags & tlv_flag_transient) != 0;
    srp_.emplace(group_, std::string(srp_username), transient_ ? std::string(transient_pin) : pin_);

    Tlv8 answer;
    answer.add(TlvType::seq_no, std::uint8_t{2});
    answer.add(TlvType::salt, srp_->salt());
    answer.add(TlvType::public_key, srp_->public_B());
    state_ = State::sent_m2;
    return answer.encode();
}

Bytes PairSetupAccessory::on_m3(const Tlv8& request) {
    const auto public_A = request.get(TlvType::public_key);
    const auto proof = request.get(TlvType::proof);
    if (!public_A || !proof) {
        return fail(4, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    const auto M2 = srp_->verify_client(*public_A, *proof);
    if (!M2) {
        ++failed_tries_;
        back_off_pending_ = policy_.back_off_after_failure.count() > 0;
        return fail(4, static_cast<std::uint8_t>(HapErrorCode::authentication));
    }
    Tlv8 answer;
    answer.add(TlvType::seq_no, std::uint8_t{4});
    answer.add(TlvType::proof, *M2);
    state_ = State::sent_m4;
    if (transient_) {
        transient_key_ = srp_->session_key_K();
        state_ = State::idle;
    }
    return answer.encode();
}

Bytes PairSetupAccessory::on_m5(const Tlv8& request) {
    const auto sealed = request.get(TlvType::encrypted_data);
    if (!sealed) {
        return fail(6, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    const SetupKeys keys = derive_setup_keys(srp_->session_key_K());
    const auto plain =
        ChaCha20Poly1305::open(keys.encrypt.view(), label_nonce("PS-Msg05"), *sealed);
    if (!plain) {
        return fail(6, static_cast<std::uint8_t>(HapErrorCode::authentication));
    }
    const auto inner = detail::decode_request(*plain);
    if (!inner) {
        return fail(6, static_cast<std::uint8_t>(HapErrorCode::unknown));
    }
    const auto client_id = inner->get(TlvType::identifier);
    const auto client_ltpk = inner->get(TlvType::public_key);
    const auto signature = inner->get(TlvType::signature);
    if (!client_id || !client_ltpk || !signature ||
        !ed25519_verify(*client_ltpk,
                        concat({keys.controller_sign.view(), *client_id, *client_ltpk}),
                        *signature)) {
        return fail(6, static_cast<std::uint8_t>(HapErrorCode::authentication));
    }

    const Bytes device_id = to_bytes(identity_.device_id);
    Tlv8 reply_inner;
    reply_inner.add(TlvType::identifier, device_id);
    reply_inner.add(TlvType::public_key, identity_.keys.public_key);
    reply_inner.add(TlvType::signature,
                    identity_.keys.sign(concat(
                        {keys.accessory_sign.view(), device_id, identity_.keys.public_key})));
    Tlv8 answer;
    answer.add(TlvType::seq_no, std::uint8_t{6});
    answer.add(
        TlvType::encrypted_data,
        ChaCha20Poly1305::seal(keys.encrypt.view(), label_nonce("PS-Msg06"), reply_inner.encode()));
    const auto name = inner->get(TlvType::name);
    controller_ =
        PairedController{to_string(*client_id), Bytes(client_ltpk->begin(), client_ltpk->end()),
                         name ? Bytes(name->begin(), name->end()) : Bytes{}};
    state_ = State::idle;
    srp_.reset();
    return answer.encode();
}

}  // namespace atv::hap
