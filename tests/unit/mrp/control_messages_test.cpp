// The control messages as they leave for the device, and the HID record both ways.
#include "mrp/control_messages.hpp"

#include <gtest/gtest.h>

namespace atv::mrp {
namespace {

ProtocolMessage round_trip(const ProtocolMessage& message) {
    auto parsed = parse(serialize(message));
    EXPECT_TRUE(parsed.has_value());
    return parsed.value_or(ProtocolMessage{});
}

TEST(MrpControlMessages, HidEventCarriesPageUsageAndDirection) {
    const ProtocolMessage down = round_trip(send_hid_event({1, 0x89}, true));
    EXPECT_EQ(down.type(), ProtocolMessage::SEND_HID_EVENT_MESSAGE);
    EXPECT_FALSE(down.has_identifier());  // not answered
    const std::string& data = down.GetExtension(proto::sendHIDEventMessage).hideventdata();
    ASSERT_EQ(data.size(), 60U);
    // The key in the middle of the record: page 0x0001, usage 0x0089, down 0x0001.
    EXPECT_EQ(to_hex(to_bytes(data.substr(43, 6))), "000100890001");
    const auto event = read_hid_event(down.GetExtension(proto::sendHIDEventMessage));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->key, (HidKey{1, 0x89}));
    EXPECT_TRUE(event->down);

    const ProtocolMessage up = round_trip(send_hid_event({12, 0xe9}, false));
    const auto released = read_hid_event(up.GetExtension(proto::sendHIDEventMessage));
    ASSERT_TRUE(released.has_value());
    EXPECT_EQ(released->key, (HidKey{12, 0xe9}));
    EXPECT_FALSE(released->down);
}

TEST(MrpControlMessages, MalformedHidRecordsAreRejected) {
    proto::SendHIDEventMessage message =
        send_hid_event({1, 0x8c}, true).GetExtension(proto::sendHIDEventMessage);
    std::string data = message.hideventdata();
    message.set_hideventdata(data.substr(0, 59));
    EXPECT_FALSE(read_hid_event(message).has_value());
    data[20] ^= 0x01;  // the fixed header
    message.set_hideventdata(data);
    EXPECT_FALSE(read_hid_event(message).has_value());
    message.set_hideventdata("");
    EXPECT_FALSE(read_hid_event(message).has_value());
}

TEST(MrpControlMessages, SendCommandCarriesItsOptions) {
    proto::CommandOptions options;
    options.set_skipinterval(30.0F);
    const ProtocolMessage message = round_trip(send_command(proto::Command::SkipForward, options));
    EXPECT_EQ(message.type(), ProtocolMessage::SEND_COMMAND_MESSAGE);
    EXPECT_TRUE(message.has_identifier());
    const auto& inner = message.GetExtension(proto::sendCommandMessage);
    EXPECT_EQ(inner.command(), proto::Command::SkipForward);
    EXPECT_FLOAT_EQ(inner.options().skipinterval(), 30.0F);
    const ProtocolMessage plain = round_trip(send_command(proto::Command::Play));
    EXPECT_FALSE(plain.GetExtension(proto::sendCommandMessage).has_options());
    EXPECT_EQ(command_name(proto::Command::TogglePlayPause), "TogglePlayPause");
    EXPECT_EQ(command_name(static_cast<Command>(99)), "Command99");
}

TEST(MrpControlMessages, PlaybackQueueRequestAsksForTheArtworkSize) {
    const ProtocolMessage sized = round_trip(playback_queue_request(0, 300, 200));
    EXPECT_EQ(sized.type(), ProtocolMessage::PLAYBACK_QUEUE_REQUEST_MESSAGE);
    EXPECT_TRUE(sized.has_identifier());
    const auto& request = sized.GetExtension(proto::playbackQueueRequestMessage);
    EXPECT_EQ(request.location(), 0);
    EXPECT_EQ(request.length(), 1);
    EXPECT_TRUE(request.includemetadata());
    EXPECT_DOUBLE_EQ(request.artworkwidth(), 300.0);
    EXPECT_DOUBLE_EQ(request.artworkheight(), 200.0);
    const ProtocolMessage default_size = round_trip(playback_queue_request(2, 0, 0));
    const auto& native = default_size.GetExtension(proto::playbackQueueRequestMessage);
    EXPECT_EQ(native.location(), 2);
    EXPECT_DOUBLE_EQ(native.artworkwidth(), -1.0);
    EXPECT_DOUBLE_EQ(native.artworkheight(), -1.0);
}

TEST(MrpControlMessages, SetVolumeNamesTheOutputDevice) {
    const ProtocolMessage message = round_trip(set_volume(0.25F, "uid-1"));
    EXPECT_EQ(message.type(), ProtocolMessage::SET_VOLUME_MESSAGE);
    const auto& inner = message.GetExtension(proto::setVolumeMessage);
    EXPECT_FLOAT_EQ(inner.volume(), 0.25F);
    EXPECT_EQ(inner.outputdeviceuid(), "uid-1");
}

}  // namespace
}  // namespace atv::mrp
