#include "mrp/handshake.hpp"

#include "atv/error.hpp"

namespace atv::mrp {

std::unique_ptr<MessageCipher> client_session_cipher(ByteView shared_secret) {
    return std::make_unique<MrpSessionCipher>(hap::mrp_session_keys(shared_secret));
}

std::unique_ptr<MessageCipher> device_session_cipher(ByteView shared_secret) {
    return std::make_unique<MrpSessionCipher>(hap::reversed(hap::mrp_session_keys(shared_secret)));
}

std::optional<Bytes> pairing_data(const ProtocolMessage& message) {
    if (message.type() != ProtocolMessage::CRYPTO_PAIRING_MESSAGE ||
        !message.HasExtension(proto::cryptoPairingMessage)) {
        return std::nullopt;
    }
    const auto& pairing = message.GetExtension(proto::cryptoPairingMessage);
    if (!pairing.has_pairingdata()) {
        return std::nullopt;
    }
    return to_bytes(pairing.pairingdata());
}

asio::awaitable<Bytes> exchange_pairing_data(MrpChannel& channel, ByteView tlv8,
                                             bool starts_pair_setup,
                                             std::chrono::milliseconds timeout) {
    const ProtocolMessage reply =
        co_await channel.request(crypto_pairing(tlv8, starts_pair_setup), timeout);
    auto data = pairing_data(reply);
    if (!data) {
        throw Error(ErrorKind::connection_failed,
                    "the device answered a pairing message without pairing data");
    }
    co_return std::move(*data);
}

asio::awaitable<proto::DeviceInfoMessage> exchange_device_information(
    MrpChannel& channel, const ClientDescription& client, std::chrono::milliseconds timeout) {
    const ProtocolMessage reply = co_await channel.request(device_information(client), timeout);
    if (!reply.HasExtension(proto::deviceInfoMessage)) {
        throw Error(ErrorKind::connection_failed, "the device answered DEVICE_INFO with " +
                                                      type_name(reply.type()) +
                                                      "; it does not speak MRP on this port");
    }
    co_return reply.GetExtension(proto::deviceInfoMessage);
}

}  // namespace atv::mrp
