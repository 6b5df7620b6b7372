// Pair-setup and pair-verify over the Companion link (protocols.md §6.2): each TLV8 message is
// the `_pd` item of an OPACK dict carried by a PS_*/PV_* frame; replies come as PS_Next/PV_Next.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>

#include "companion/channel.hpp"
#include "companion/frames.hpp"
#include "hap/credentials.hpp"
#include "support/bytes.hpp"

namespace atv::companion {

enum class AuthExchange : std::uint8_t { setup, verify };

// The OPACK payload of one auth frame: {_pd, _pwTy: 1} for setup, {_pd, _auTy: 4} for the
// first verify frame, {_pd} for later ones; `_x` is the frame's transaction id.
Bytes encode_auth_payload(ByteView tlv8, AuthExchange exchange, bool first,
                          std::int64_t transaction);
// The `_pd` item of a reply; throws atv::Error(connection_failed) when there is none.
Bytes decode_auth_payload(ByteView payload);
// The frame type that carries a message of this exchange.
FrameType auth_frame_type(AuthExchange exchange, bool first);

// Sends one TLV8 message and returns the device's TLV8 answer. Each frame takes its `_x` from
// the channel's counter, as every other message of the connection does.
class AuthExchanger {
  public:
    AuthExchanger(CompanionChannel& channel, AuthExchange exchange,
                  std::chrono::milliseconds timeout)
        : channel_(channel), exchange_(exchange), timeout_(timeout) {}
    asio::awaitable<Bytes> operator()(Bytes tlv8);

  private:
    CompanionChannel& channel_;
    AuthExchange exchange_;
    std::chrono::milliseconds timeout_;
    bool first_ = true;
};

// Pair-verify with `credentials`, then switches the channel to the Companion session keys.
// Throws atv::Error(authentication_failed) when the device rejects the credentials.
asio::awaitable<void> verify_and_encrypt(CompanionChannel& channel,
                                         const hap::HapCredentials& credentials,
                                         std::chrono::milliseconds timeout);

}  // namespace atv::companion
