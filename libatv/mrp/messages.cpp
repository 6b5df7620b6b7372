#include "mrp/messages.hpp"

#include <limits>

namespace atv::mrp {

namespace {

constexpr int last_supported_message_type = 108;
constexpr int shared_queue_version = 2;

}  // namespace

ProtocolMessage make_message(MessageType type) {
    ProtocolMessage message;
    message.set_type(type);
    message.set_errorcode(0);
    message.set_uniqueidentifier(random_uuid(true));
    return message;
}

ProtocolMessage make_request(MessageType type) {
    ProtocolMessage message = make_message(type);
    message.set_identifier(random_uuid(true));
    return message;
}

ProtocolMessage device_information(const ClientDescription& client) {
    ProtocolMessage message = make_request(ProtocolMessage::DEVICE_INFO_MESSAGE);
    auto* info = message.MutableExtension(proto::deviceInfoMessage);
    info->set_uniqueidentifier(client.unique_identifier);
    info->set_name(client.name);
    info->set_localizedmodelname("iPhone");
    info->set_systembuildversion(client.system_build_version);
    info->set_applicationbundleidentifier("com.apple.TVRemote");
    info->set_applicationbundleversion("344.28");
    info->set_protocolversion(1);
    info->set_lastsupportedmessagetype(last_supported_message_type);
    info->set_supportssystempairing(true);
    info->set_allowspairing(true);
    info->set_systemmediaapplication("com.apple.TVMusic");
    info->set_supportsacl(true);
    info->set_supportssharedqueue(true);
    info->set_supportsextendedmotion(true);
    info->set_sharedqueueversion(shared_queue_version);
    info->set_deviceclass(proto::DeviceClass::iPhone);
    info->set_logicaldevicecount(1);
    return message;
}

ProtocolMessage crypto_pairing(ByteView tlv8, bool starts_pair_setup) {
    // No identifier: the device answers pairing messages without one.
    ProtocolMessage message = make_message(ProtocolMessage::CRYPTO_PAIRING_MESSAGE);
    auto* pairing = message.MutableExtension(proto::cryptoPairingMessage);
    pairing->set_pairingdata(tlv8.data(), tlv8.size());
    pairing->set_status(0);
    pairing->set_isretrying(false);
    pairing->set_isusingsystempairing(false);
    pairing->set_state(starts_pair_setup ? 2 : 0);
    return message;
}

ProtocolMessage set_connection_state(proto::SetConnectionStateMessage::ConnectionState state) {
    ProtocolMessage message = make_message(ProtocolMessage::SET_CONNECTION_STATE_MESSAGE);
    message.MutableExtension(proto::setConnectionStateMessage)->set_state(state);
    return message;
}

ProtocolMessage client_updates_config() {
    ProtocolMessage message = make_request(ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE);
    auto* config = message.MutableExtension(proto::clientUpdatesConfigMessage);
    config->set_artworkupdates(true);
    config->set_nowplayingupdates(false);
    config->set_volumeupdates(true);
    config->set_keyboardupdates(true);
    config->set_outputdeviceupdates(true);
    return message;
}

ProtocolMessage get_keyboard_session() {
    return make_request(ProtocolMessage::GET_KEYBOARD_SESSION_MESSAGE);
}

ProtocolMessage heartbeat() {
    return make_request(ProtocolMessage::GENERIC_MESSAGE);
}

ProtocolMessage wake_device() {
    ProtocolMessage message = make_message(ProtocolMessage::WAKE_DEVICE_MESSAGE);
    message.MutableExtension(proto::wakeDeviceMessage);
    return message;
}

ProtocolMessage reply_to(const ProtocolMessage& request, MessageType type) {
    ProtocolMessage message = make_message(type);
    if (request.has_identifier()) {
        message.set_identifier(request.identifier());
    }
    return message;
}

ProtocolMessage device_information_reply(const ProtocolMessage& request,
                                         const DeviceDescription& device) {
    ProtocolMessage message = reply_to(request, ProtocolMessage::DEVICE_INFO_MESSAGE);
    auto* info = message.MutableExtension(proto::deviceInfoMessage);
    info->set_uniqueidentifier(device.unique_identifier);
    info->set_name(device.name);
    info->set_localizedmodelname("Apple TV");
    info->set_systembuildversion(device.system_build_version);
    info->set_applicationbundleidentifier("com.apple.mediaremoted");
    info->set_protocolversion(1);
    info->set_lastsupportedmessagetype(last_supported_message_type);
    info->set_supportssystempairing(true);
    info->set_allowspairing(true);
    info->set_systemmediaapplication("com.apple.TVMusic");
    info->set_supportsacl(true);
    info->set_supportssharedqueue(true);
    info->set_sharedqueueversion(shared_queue_version);
    info->set_deviceclass(proto::DeviceClass::AppleTV);
    info->set_logicaldevicecount(1);
    info->set_modelid(device.model_id);
    return message;
}

Bytes serialize(const ProtocolMessage& message) {
    Bytes bytes(message.ByteSizeLong());
    message.SerializePartialToArray(bytes.data(), static_cast<int>(bytes.size()));
    return bytes;
}

std::optional<ProtocolMessage> parse(ByteView bytes) {
    ProtocolMessage message;
    if (!parse_into(bytes, message)) {
        return std::nullopt;
    }
    return message;
}

bool parse_into(ByteView bytes, ProtocolMessage& message) {
    return bytes.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()) &&
           message.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

std::string type_name(MessageType type) {
    const std::string& name = ProtocolMessage::Type_Name(type);
    return name.empty() ? "message type " + std::to_string(static_cast<int>(type)) : name;
}

}  // namespace atv::mrp
