// The fake Apple TV's device side without sockets: what it answers and what it ignores.
#include <gtest/gtest.h>

#include "fake_atv.hpp"
#include "mrp/framing.hpp"
#include "mrp/messages.hpp"

namespace atv::fakes {
namespace {

std::vector<mrp::ProtocolMessage> replies(const Bytes& stream) {
    mrp::FrameReader reader;
    reader.feed(stream);
    std::vector<mrp::ProtocolMessage> messages;
    while (auto frame = reader.next()) {
        messages.push_back(mrp::parse(*frame).value());
    }
    return messages;
}

Bytes frame(const mrp::ProtocolMessage& message) {
    return mrp::encode_frame(mrp::serialize(message));
}

TEST(FakeAtvSession, IgnoresEverythingBeforeDeviceInfo) {
    FakeAtvState state(FakeAtvConfig{});
    FakeDeviceSession session(state);
    EXPECT_TRUE(session.receive(frame(mrp::heartbeat())).bytes.empty());

    const auto request = mrp::device_information({"client", "atvd", "18G82"});
    const auto answer = replies(session.receive(frame(request)).bytes);
    ASSERT_EQ(answer.size(), 1U);
    EXPECT_EQ(answer[0].identifier(), request.identifier());
    const auto& info = answer[0].GetExtension(mrp::proto::deviceInfoMessage);
    EXPECT_EQ(info.uniqueidentifier(), state.unique_identifier());
    EXPECT_EQ(info.name(), "Fake Apple TV");
    EXPECT_EQ(info.systembuildversion(), "17K795");

    const auto beat = mrp::heartbeat();
    const auto beat_answer = replies(session.receive(frame(beat)).bytes);
    ASSERT_EQ(beat_answer.size(), 1U);
    EXPECT_EQ(beat_answer[0].identifier(), beat.identifier());
}

TEST(FakeAtvSession, CorruptLengthClosesTheConnection) {
    FakeAtvState state(FakeAtvConfig{});
    FakeDeviceSession session(state);
    const Bytes huge_length{0xff, 0xff, 0xff, 0xff, 0x0f};
    EXPECT_TRUE(session.receive(huge_length).close);
}

TEST(FakeAtv, IdentifiersAreStableAndNameBased) {
    EXPECT_EQ(uuid_from_seed("Living Room"), uuid_from_seed("Living Room"));
    EXPECT_NE(uuid_from_seed("Living Room"), uuid_from_seed("Bedroom"));
    const std::string uuid = uuid_from_seed("Living Room");
    ASSERT_EQ(uuid.size(), 36U);
    EXPECT_EQ(uuid[14], '5');
    FakeAtvConfig config;
    config.name = "Den";
    config.id = "fixed";
    EXPECT_EQ(FakeAtvState(config).unique_identifier(), "fixed");
    config.id.clear();
    EXPECT_EQ(FakeAtvState(config).unique_identifier(), uuid_from_seed("Den"));
}

TEST(FakeAtv, MisbehaviourNamesRoundTrip) {
    for (const char* name :
         {"wrong-proof", "stall-setup", "drop-handshake", "reject-credentials", "back-off"}) {
        const auto mode = misbehaviour_from_string(name);
        ASSERT_TRUE(mode.has_value()) << name;
        EXPECT_EQ(to_string(*mode), name);
    }
    EXPECT_FALSE(misbehaviour_from_string("explode").has_value());
}

}  // namespace
}  // namespace atv::fakes
