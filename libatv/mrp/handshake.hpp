// The HAP pieces of MRP: pairing TLVs carried in CRYPTO_PAIRING_MESSAGE, the DEVICE_INFO
// exchange that must open every connection, and the session cipher with MediaRemote keys.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>

#include "hap/session.hpp"
#include "mrp/channel.hpp"
#include "mrp/messages.hpp"

namespace atv::mrp {

// hap::MrpCipher behind the channel's cipher interface.
class MrpSessionCipher : public MessageCipher {
  public:
    explicit MrpSessionCipher(const hap::SessionKeys& keys) : cipher_(keys) {}
    Bytes seal(ByteView plaintext) override { return cipher_.encrypt(plaintext); }
    std::optional<Bytes> open(ByteView ciphertext) override { return cipher_.decrypt(ciphertext); }

  private:
    hap::MrpCipher cipher_;
};

// The MediaRemote keys from the pair-verify secret, seen from the client or from the device.
std::unique_ptr<MessageCipher> client_session_cipher(ByteView shared_secret);
std::unique_ptr<MessageCipher> device_session_cipher(ByteView shared_secret);

// The TLV8 inside a CRYPTO_PAIRING_MESSAGE; nullopt when the message carries none.
std::optional<Bytes> pairing_data(const ProtocolMessage& message);

// Sends one pairing TLV and returns the device's answer TLV. Throws atv::Error(timeout) when
// the device does not answer, connection_failed when the reply carries no pairing data.
asio::awaitable<Bytes> exchange_pairing_data(MrpChannel& channel, ByteView tlv8,
                                             bool starts_pair_setup,
                                             std::chrono::milliseconds timeout);

// DEVICE_INFO request and reply; must be the first exchange on a connection.
asio::awaitable<proto::DeviceInfoMessage> exchange_device_information(
    MrpChannel& channel, const ClientDescription& client, std::chrono::milliseconds timeout);

}  // namespace atv::mrp
