// Builders for the MRP messages of pairing and connecting, and parsing of untrusted bytes.
// Every message gets errorCode 0 and a fresh upper-case UUID in uniqueIdentifier;
// requests also get an upper-case UUID in identifier, which the reply echoes.
#pragma once

#include <optional>
#include <string>

#include "mrp_crypto_pairing.pb.h"
#include "mrp_device_info.pb.h"
#include "mrp_protocol_message.pb.h"
#include "mrp_session.pb.h"
#include "support/bytes.hpp"

namespace atv::mrp {

using proto::ProtocolMessage;
using MessageType = proto::ProtocolMessage::Type;

// How this client introduces itself in DEVICE_INFO.
struct ClientDescription {
    std::string unique_identifier;  // the client pairing id; random when not paired yet
    std::string name = "atvd";
    std::string system_build_version = "18G82";
};

// How the device (the fake Apple TV) introduces itself in its DEVICE_INFO reply.
struct DeviceDescription {
    std::string unique_identifier;
    std::string name;
    std::string system_build_version = "17K795";
    std::string model_id = "AppleTV6,2";
};

// An envelope of `type` with errorCode 0 and a fresh uniqueIdentifier, without identifier.
ProtocolMessage make_message(MessageType type);
// make_message plus a fresh identifier, for messages answered with the same identifier.
ProtocolMessage make_request(MessageType type);

ProtocolMessage device_information(const ClientDescription& client);
// Carries pair-setup or pair-verify TLV8; state 2 marks the first pair-setup message.
ProtocolMessage crypto_pairing(ByteView tlv8, bool starts_pair_setup = false);
ProtocolMessage set_connection_state(proto::SetConnectionStateMessage::ConnectionState state);
ProtocolMessage client_updates_config();
ProtocolMessage get_keyboard_session();
ProtocolMessage heartbeat();
ProtocolMessage wake_device();

// Device side: the answer to a request, echoing its identifier.
ProtocolMessage reply_to(const ProtocolMessage& request, MessageType type);
ProtocolMessage device_information_reply(const ProtocolMessage& request,
                                         const DeviceDescription& device);

Bytes serialize(const ProtocolMessage& message);
// nullopt when the bytes are not a ProtocolMessage. Missing required fields inside
// extensions are tolerated: devices differ in what they fill in.
std::optional<ProtocolMessage> parse(ByteView bytes);
// parse into an existing message (one on an arena, say); false when the bytes are not one.
bool parse_into(ByteView bytes, ProtocolMessage& message);

// "DEVICE_INFO_MESSAGE" etc. for logs (never the content, which may carry keys).
std::string type_name(MessageType type);

}  // namespace atv::mrp
