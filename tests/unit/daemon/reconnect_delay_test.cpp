#include "reconnect_delay.hpp"

#include <gtest/gtest.h>

#include <set>

namespace atvd {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ReconnectDelay, DoublesFromOneSecondUpToFiveMinutes) {
    ReconnectDelay delay(seconds(1), minutes(5), 7);
    const milliseconds expected[] = {seconds(1),   seconds(2),  seconds(4),  seconds(8),
                                     seconds(16),  seconds(32), seconds(64), seconds(128),
                                     seconds(256), minutes(5),  minutes(5)};
    for (const milliseconds nominal : expected) {
        EXPECT_EQ(delay.nominal(), nominal);
        const milliseconds actual = delay.next();
        EXPECT_GE(actual.count(), nominal.count() * 8 / 10);
        EXPECT_LE(actual.count(), nominal.count() * 12 / 10);
    }
}

TEST(ReconnectDelay, StaysAtTheCeilingAfterManyFailures) {
    ReconnectDelay delay(seconds(1), minutes(5), 1);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_LE(delay.next(), milliseconds(minutes(5)) * 12 / 10);
    }
    EXPECT_EQ(delay.nominal(), minutes(5));
}

TEST(ReconnectDelay, ResetStartsAgainFromTheFirstDelay) {
    ReconnectDelay delay(seconds(1), minutes(5), 3);
    for (int i = 0; i < 6; ++i) {
        delay.next();
    }
    delay.reset();
    EXPECT_EQ(delay.nominal(), seconds(1));
}

TEST(ReconnectDelay, DevicesLostTogetherSpreadOut) {
    std::set<milliseconds::rep> firsts;
    for (std::uint32_t seed = 1; seed <= 20; ++seed) {
        ReconnectDelay delay(seconds(1), minutes(5), seed);
        firsts.insert(delay.next().count());
    }
    EXPECT_GT(firsts.size(), 10U);
}

TEST(ReconnectDelay, NeverZeroAndNeverBelowTheFirst) {
    ReconnectDelay tiny(milliseconds(1), milliseconds(1), 5);
    EXPECT_GE(tiny.next(), milliseconds(1));
    ReconnectDelay inverted(seconds(2), seconds(1), 5);
    EXPECT_EQ(inverted.nominal(), seconds(2));
}

}  // namespace
}  // namespace atvd
