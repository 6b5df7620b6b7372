// The bridge answers every command topic it gets, and never on a topic that would be refused
// (a wildcard or a NUL from a hostile publisher cannot become part of a topic it publishes).
#include "topics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace atvd::mqtt {
namespace {

const std::string base = "atvd/segment1";

TEST(CommandTopic, WellFormedCommandNamesItsDeviceAndReplyTopic) {
    const auto parsed = parse_command_topic(base, "atvd/segment1/ab_12/set/select");
    EXPECT_TRUE(parsed.well_formed);
    EXPECT_EQ(parsed.device_id, "ab_12");
    EXPECT_EQ(parsed.command, "select");
    EXPECT_EQ(parsed.reply_topic, "atvd/segment1/ab_12/result");
}

TEST(CommandTopic, WrongShapesAreAnsweredOnTheDevicesResultTopic) {
    for (const char* topic : {"atvd/segment1/ab/set", "atvd/segment1/ab/set/select/again",
                              "atvd/segment1/ab/get/select", "atvd/segment1/ab/set/"}) {
        const auto parsed = parse_command_topic(base, topic);
        EXPECT_FALSE(parsed.well_formed) << topic;
        EXPECT_EQ(parsed.reply_topic, "atvd/segment1/ab/result") << topic;
    }
    EXPECT_EQ(parse_command_topic(base, "atvd/segment1/ab/set").command, "");
}

TEST(CommandTopic, WildcardsInTheDevicePartAnswerOnTheBridgesTopic) {
    for (const char* topic : {"atvd/segment1/+/set/select", "atvd/segment1/#"}) {
        const auto parsed = parse_command_topic(base, topic);
        EXPECT_FALSE(parsed.well_formed) << topic;
        EXPECT_EQ(parsed.reply_topic, "atvd/segment1/result") << topic;
    }
    const auto empty = parse_command_topic(base, "atvd/segment1//set/select");
    EXPECT_FALSE(empty.well_formed);
    EXPECT_EQ(empty.reply_topic, "atvd/segment1/result");
}

TEST(CommandTopic, NulAndInvalidUtf8AreNeverPublishedOn) {
    const std::string with_nul("atvd/segment1/a\0b/set/select", 29);
    const auto parsed = parse_command_topic(base, with_nul);
    EXPECT_FALSE(parsed.well_formed);
    EXPECT_EQ(parsed.reply_topic, "atvd/segment1/result");
    const auto bad_utf8 = parse_command_topic(base, "atvd/segment1/\xff\xfe/set/select");
    EXPECT_FALSE(bad_utf8.well_formed);
    EXPECT_EQ(bad_utf8.reply_topic, "atvd/segment1/result");
    const auto wildcard_command = parse_command_topic(base, "atvd/segment1/ab/set/+");
    EXPECT_FALSE(wildcard_command.well_formed);
    EXPECT_EQ(wildcard_command.reply_topic, "atvd/segment1/ab/result");
}

TEST(CommandTopic, TopicsOutsideTheBaseAreNotCommands) {
    EXPECT_FALSE(parse_command_topic(base, "atvd/segment2/ab/set/select").well_formed);
    EXPECT_FALSE(parse_command_topic(base, "atvd").well_formed);
}

TEST(Publishable, RefusesWildcardsNulsAndBadUtf8) {
    EXPECT_TRUE(publishable("atvd/segment1/ab/result"));
    EXPECT_FALSE(publishable("atvd/+/result"));
    EXPECT_FALSE(publishable("atvd/#"));
    EXPECT_FALSE(publishable(std::string("atvd/\0/result", 13)));
    EXPECT_FALSE(publishable("atvd/\xc3/result"));
}

TEST(DeviceId, OnlyPathElementCharacters) {
    EXPECT_TRUE(valid_device_id("AaZz09_"));
    EXPECT_FALSE(valid_device_id(""));
    EXPECT_FALSE(valid_device_id("bad.id"));
    EXPECT_FALSE(valid_device_id(std::string(256, 'a')));
}

}  // namespace
}  // namespace atvd::mqtt
