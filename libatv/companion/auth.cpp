#include "companion/auth.hpp"

#include <utility>

#include "atv/error.hpp"
#include "companion/opack.hpp"
#include "hap/errors.hpp"
#include "hap/pair_verify.hpp"
#include "hap/session.hpp"

namespace atv::companion {

namespace {
constexpr std::int64_t pin_password_type = 1;
constexpr std::int64_t verify_auth_type = 4;
}  // namespace

Bytes encode_auth_payload(ByteView tlv8, AuthExchange exchange, bool first,
                          std::int64_t transaction) {
    OpackDict dict{{"_pd", Bytes(tlv8.begin(), tlv8.end())}};
    if (exchange == AuthExchange::setup) {
        dict.emplace_back("_pwTy", pin_password_type);
    } else if (first) {
        dict.emplace_back("_auTy", verify_auth_type);
    }
    dict.emplace_back("_x", transaction);
    return opack_encode(dict);
}

Bytes decode_auth_payload(ByteView payload) {
    auto data = opack_decode(payload).bytes_at("_pd");
    if (!data) {
        throw Error(ErrorKind::connection_failed,
                    "the device answered a pairing step without pairing data");
    }
    return std::move(*data);
}

FrameType auth_frame_type(AuthExchange exchange, bool first) {
    if (exchange == AuthExchange::setup)
        return first ? FrameType::ps_start : FrameType::ps_next;
    return first ? FrameType::pv_start : FrameType::pv_next;
}

asio::awaitable<Bytes> AuthExchanger::operator()(Bytes tlv8) {
    const bool first = std::exchange(first_, false);
    const Bytes payload =
        encode_auth_payload(tlv8, exchange_, first, channel_.next_transaction_id());
    const FrameType reply_type = auth_frame_type(exchange_, false);
    const Bytes reply = co_await channel_.exchange(auth_frame_type(exchange_, first), payload,
                                                   reply_type, timeout_);
    co_return decode_auth_payload(reply);
}

asio::awaitable<void> verify_and_encrypt(CompanionChannel& channel,
                                         const hap::HapCredentials& credentials,
                                         std::chrono::milliseconds timeout) {
    AuthExchanger exchange(channel, AuthExchange::verify, timeout);
    hap::PairVerifyController verify(credentials);
    try {
        // Named locals: GCC 12 destroys temporaries passed to a coroutine in co_await twice
        // when it throws.
        Bytes m1 = verify.m1();
        const Bytes m2 = co_await exchange(std::move(m1));
        Bytes m3 = verify.m3(m2);
        const Bytes m4 = co_await exchange(std::move(m3));
        verify.finish(m4);
    } catch (const hap::HapError& error) {
        // A device that asks to be left alone for a while has not rejected the credentials.
        if (error.kind() == ErrorKind::back_off) {
            throw;
        }
        throw Error(ErrorKind::authentication_failed,
                    std::string("the device rejected the Companion credentials (") + error.what() +
                        "); pair the Companion protocol again");
    }
    channel.enable_encryption(hap::companion_session_keys(verify.shared_secret().view()));
}

}  // namespace atv::companion
