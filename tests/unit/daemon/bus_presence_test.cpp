#include "bus_presence.hpp"

#include <gtest/gtest.h>

namespace atvd {
namespace {

TEST(BusPresence, LeavesAtOnceWhenNoReplyIsOwed) {
    int unregistered = 0;
    BusPresence presence([&] { ++unregistered; });
    presence.leave();
    EXPECT_EQ(unregistered, 1);
}

TEST(BusPresence, StaysUntilTheLastOwedReplyIsSent) {
    int unregistered = 0;
    BusPresence presence([&] { ++unregistered; });
    presence.reply_owed();
    presence.reply_owed();
    presence.leave();
    EXPECT_EQ(unregistered, 0);
    presence.reply_sent();
    EXPECT_EQ(unregistered, 0);
    presence.reply_sent();
    EXPECT_EQ(unregistered, 1);
}

TEST(BusPresence, RepliesBeforeLeavingKeepItRegistered) {
    int unregistered = 0;
    BusPresence presence([&] { ++unregistered; });
    presence.reply_owed();
    presence.reply_sent();
    EXPECT_EQ(unregistered, 0);
}

TEST(BusPresence, UnregistersOnlyOnce) {
    int unregistered = 0;
    BusPresence presence([&] { ++unregistered; });
    presence.leave();
    presence.leave();
    presence.reply_owed();
    presence.reply_sent();
    EXPECT_EQ(unregistered, 1);
}

}  // namespace
}  // namespace atvd
