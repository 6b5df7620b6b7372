#include "mrp/messages.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace atv::mrp {
namespace {

const std::regex upper_uuid("[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}");

ProtocolMessage round_trip(const ProtocolMessage& message) {
    auto parsed = parse(serialize(message));
    EXPECT_TRUE(parsed.has_value());
    return parsed.value_or(ProtocolMessage{});
}

void expect_envelope(const ProtocolMessage& message, MessageType type, bool is_request) {
    EXPECT_EQ(message.type(), type);
    EXPECT_TRUE(message.has_errorcode());
    EXPECT_EQ(message.errorcode(), 0);
    EXPECT_TRUE(std::regex_match(message.uniqueidentifier(), upper_uuid));
    EXPECT_EQ(message.has_identifier(), is_request);
    if (is_request) {
        EXPECT_TRUE(std::regex_match(message.identifier(), upper_uuid));
    }
}

TEST(MrpMessages, DeviceInformationCarriesTheClientIdentity) {
    ClientDescription client{"5b2ad4a3-0e0f-4b6d-9d59-4a3f2e0c8f11", "Living room remote", "18G82"};
    const ProtocolMessage message = round_trip(device_information(client));
    expect_envelope(message, ProtocolMessage::DEVICE_INFO_MESSAGE, true);
    ASSERT_TRUE(message.HasExtension(proto::deviceInfoMessage));
    const auto& info = message.GetExtension(proto::deviceInfoMessage);
    EXPECT_EQ(info.uniqueidentifier(), client.unique_identifier);
    EXPECT_EQ(info.name(), "Living room remote");
    EXPECT_EQ(info.localizedmodelname(), "iPhone");
    EXPECT_EQ(info.systembuildversion(), "18G82");
    EXPECT_EQ(info.applicationbundleidentifier(), "com.apple.TVRemote");
    EXPECT_EQ(info.applicationbundleversion(), "344.28");
    EXPECT_EQ(info.protocolversion(), 1);
    EXPECT_EQ(info.lastsupportedmessagetype(), 108U);
    EXPECT_TRUE(info.allowspairing());
    EXPECT_TRUE(info.supportsacl());
    EXPECT_TRUE(info.supportssharedqueue());
    EXPECT_TRUE(info.supportsextendedmotion());
    EXPECT_TRUE(info.supportssystempairing());
    EXPECT_EQ(info.sharedqueueversion(), 2U);
    EXPECT_EQ(info.systemmediaapplication(), "com.apple.TVMusic");
    EXPECT_EQ(info.deviceclass(), proto::DeviceClass::iPhone);
    EXPECT_EQ(info.logicaldevicecount(), 1U);
}

TEST(MrpMessages, CryptoPairingHasNoIdentifierAndMarksSetupStart) {
    const Bytes tlv{0x00, 0x01, 0x00, 0x06, 0x01, 0x01};
    const ProtocolMessage first = round_trip(crypto_pairing(tlv, true));
    expect_envelope(first, ProtocolMessage::CRYPTO_PAIRING_MESSAGE, false);
    const auto& pairing = first.GetExtension(proto::cryptoPairingMessage);
    EXPECT_EQ(to_bytes(pairing.pairingdata()), tlv);
    EXPECT_EQ(pairing.state(), 2);
    EXPECT_EQ(pairing.status(), 0);
    EXPECT_TRUE(pairing.has_isretrying());
    EXPECT_FALSE(pairing.isretrying());
    EXPECT_FALSE(pairing.isusingsystempairing());

    const ProtocolMessage later = round_trip(crypto_pairing(tlv));
    EXPECT_EQ(later.GetExtension(proto::cryptoPairingMessage).state(), 0);
}

TEST(MrpMessages, SessionSetupMessages) {
    const ProtocolMessage state =
        round_trip(set_connection_state(proto::SetConnectionStateMessage::Connected));
    expect_envelope(state, ProtocolMessage::SET_CONNECTION_STATE_MESSAGE, false);
    EXPECT_EQ(state.GetExtension(proto::setConnectionStateMessage).state(),
              proto::SetConnectionStateMessage::Connected);

    const ProtocolMessage config = round_trip(client_updates_config());
    expect_envelope(config, ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE, true);
    const auto& updates = config.GetExtension(proto::clientUpdatesConfigMessage);
    EXPECT_TRUE(updates.artworkupdates());
    EXPECT_TRUE(updates.has_nowplayingupdates());
    EXPECT_FALSE(updates.nowplayingupdates());
    EXPECT_TRUE(updates.volumeupdates());
    EXPECT_TRUE(updates.keyboardupdates());
    EXPECT_TRUE(updates.outputdeviceupdates());

    expect_envelope(round_trip(get_keyboard_session()),
                    ProtocolMessage::GET_KEYBOARD_SESSION_MESSAGE, true);
    expect_envelope(round_trip(heartbeat()), ProtocolMessage::GENERIC_MESSAGE, true);
    const ProtocolMessage wake = round_trip(wake_device());
    expect_envelope(wake, ProtocolMessage::WAKE_DEVICE_MESSAGE, false);
    EXPECT_TRUE(wake.HasExtension(proto::wakeDeviceMessage));
}

TEST(MrpMessages, RequestsGetDistinctIdentifiers) {
    const ProtocolMessage a = heartbeat();
    const ProtocolMessage b = heartbeat();
    EXPECT_NE(a.identifier(), b.identifier());
    EXPECT_NE(a.uniqueidentifier(), b.uniqueidentifier());
}

TEST(MrpMessages, RepliesEchoTheRequestIdentifier) {
    const ProtocolMessage request = device_information({"id", "client", "18G82"});
    DeviceDescription device{"A1B2C3D4-0000-4000-8000-000000000001", "Den", "17K795", "AppleTV6,2"};
    const ProtocolMessage reply = round_trip(device_information_reply(request, device));
    EXPECT_EQ(reply.identifier(), request.identifier());
    EXPECT_NE(reply.uniqueidentifier(), request.uniqueidentifier());
    const auto& info = reply.GetExtension(proto::deviceInfoMessage);
    EXPECT_EQ(info.name(), "Den");
    EXPECT_EQ(info.deviceclass(), proto::DeviceClass::AppleTV);
    EXPECT_EQ(info.modelid(), "AppleTV6,2");
}

TEST(MrpMessages, GarbageIsRejected) {
    EXPECT_FALSE(parse(Bytes{0xff, 0xff, 0xff}).has_value());
    // Field 1 as a length-delimited field although it is declared as a varint enum.
    EXPECT_FALSE(parse(Bytes{0x0a, 0x05, 1, 2}).has_value());
    EXPECT_TRUE(parse(Bytes{}).has_value());
}

TEST(MrpMessages, TypeNames) {
    EXPECT_EQ(type_name(ProtocolMessage::CRYPTO_PAIRING_MESSAGE), "CRYPTO_PAIRING_MESSAGE");
    EXPECT_EQ(type_name(static_cast<MessageType>(9999)), "message type 9999");
}

}  // namespace
}  // namespace atv::mrp
