#include "airplay/features.hpp"

#include <gtest/gtest.h>

namespace atv::airplay {
namespace {

TEST(AirPlayFeatures, ParsesOneOrTwoWords) {
    EXPECT_EQ(parse_features("0x5A7FFFF7"), 0x5A7FFFF7u);
    EXPECT_EQ(parse_features("0x5A7FFFF7,0x1E"), 0x1E5A7FFFF7u);
    EXPECT_EQ(parse_features("0X4a7fdfd5,0xBC157FDE"), 0xBC157FDE4A7FDFD5u);
    for (const char* bad :
         {"", "5A7FFFF7", "0x", "0x5A7FFFF7,", "0x123456789", "0xZZ", "0x1,0x2,0x3"}) {
        EXPECT_FALSE(parse_features(bad)) << bad;
    }
}

TEST(AirPlayFeatures, FtWinsOverFeaturesAndChoosesThePairing) {
    // tvOS 15: bits 38 and 48 (HAP pairing, transient pairing possible).
    const Properties tvos15{{"features", "0x4A7FDFD5,0xBC157FDE"}};
    EXPECT_TRUE(uses_hap_pairing(features_of(tvos15)));
    EXPECT_TRUE(supports_transient_pairing(features_of(tvos15)));
    // tvOS 13 (AirPlay 1 features): legacy pairing.
    const Properties tvos13{{"features", "0x5A7FFFF7,0x1E"}};
    EXPECT_FALSE(uses_hap_pairing(features_of(tvos13)));
    EXPECT_FALSE(supports_transient_pairing(features_of(tvos13)));
    const Properties both{{"ft", "0x0,0x40"}, {"features", "0x5A7FFFF7,0x1E"}};
    EXPECT_TRUE(uses_hap_pairing(features_of(both)));
    EXPECT_EQ(features_of(Properties{{"features", "garbage"}}), 0u);
    EXPECT_EQ(features_of(Properties{}), 0u);
}

}  // namespace
}  // namespace atv::airplay
