#include "hap/srp.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

using test::hex;

// RFC 5054 appendix B. Its k and u pad g, A and B to the length of N, as ours do; its
// premaster secret S does not depend on how M1, M2 and K encode integers.
class Rfc5054 : public ::testing::Test {
  protected:
    const SrpGroup group = SrpGroup::rfc5054_1024_sha1();
    const Bytes salt = hex("BEB25379 D1A8581E B5A72767 3A2441EE");
    const Bytes a = hex("60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD DA2D4393");
    const Bytes b = hex("E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1 05284D20");
    const Bytes A = hex(
        "61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4 4352E890 3211C046 92272D8B"
        "2D1A5358 A2CF1B6E 0BFCF99F 921530EC 8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03"
        "E1327F44 BE087EF0 6530E69F 66615261 EEF54073 CA11CF58 58F0EDFD FE15EFEA B349EF5D 76988A36"
        "72FAC47B 0769447B");
    const Bytes B = hex(
        "BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011 BAF38964 DC46A067 0DD125B9"
        "5A981652 236F99D9 B681CBF8 7837EC99 6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE"
        "7BD4FBAA 37089E6F 9C6059F3 88838E7A 00030B33 1EB76840 910440B1 B27AAEAE EB4012B7 D7665238"
        "A8E3FB00 4B117B58");
    const Bytes S = hex(
        "B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D 233861E3 59B48220 F7C4693C"
        "9AE12B0A 6F67809F 0876E2D0 13800D6C 41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB"
        "2AFAFA8F 3499B200 210DCC1F 10EB3394 3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D C346D7E4 74B29EDE"
        "8A469FFE CA686E5A");
};

TEST_F(Rfc5054, IntermediateValues) {
    EXPECT_EQ(to_hex(srp_multiplier_k(group)),
              to_hex(hex("7556AA04 5AEF2CDD 07ABAF0F 665C3E81 8913186F")));
    EXPECT_EQ(to_hex(srp_private_x(group, salt, "alice", "password123")),
              to_hex(hex("94B7555A ABE9127C C58CCF49 93DB6CF8 4D16C124")));
    EXPECT_EQ(
        to_hex(srp_verifier_v(group, salt, "alice", "password123")),
        to_hex(hex("7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812 9BADA1F1"
                   "822223CA 1A605B53 0E379BA4 729FDC59 F105B478 7E5186F5 C671085A 1447B52A"
                   "48CF1970 B4FB6F84 00BBF4CE BFBB1681 52E08AB5 EA53D15C 1AFF87B2 B9DA6E04"
                   "E058AD51 CC72BFC9 033B564E 26480D78 E955A5E2 9E7AB245 DB2BE315 E2099AFB")));
    EXPECT_EQ(to_hex(srp_scrambler_u(group, A, B)),
              to_hex(hex("CE38B959 3487DA98 554ED47D 70A7AE5F 462EF019")));
}

TEST_F(Rfc5054, ClientAndServerReachThePublishedPremasterSecret) {
    SrpServer server(group, "alice", "password123", salt, b);
    EXPECT_EQ(to_hex(server.public_B()), to_hex(B));
    SrpClient client(group, "alice", "password123", salt, server.public_B(), a);
    EXPECT_EQ(to_hex(client.public_A()), to_hex(A));
    EXPECT_EQ(to_hex(client.premaster_secret_S().view()), to_hex(S));

    const auto M2 = server.verify_client(client.public_A(), client.proof_M1());
    ASSERT_TRUE(M2.has_value());
    EXPECT_EQ(to_hex(server.premaster_secret_S().view()), to_hex(S));
    EXPECT_TRUE(client.verify_server_proof(*M2));
    EXPECT_EQ(to_hex(client.session_key_K().view()), to_hex(server.session_key_K().view()));
    EXPECT_EQ(client.session_key_K().size(), 20U);  // K = SHA-1(S)
}

TEST_F(Rfc5054, LegacyInterleavedSessionKey) {
    const SrpGroup legacy = group.with_session_key(SrpSessionKey::sha1_interleaved);
    SrpServer server(legacy, "alice", "password123", salt, b);
    SrpClient client(legacy, "alice", "password123", salt, server.public_B(), a);
    ASSERT_TRUE(server.verify_client(client.public_A(), client.proof_M1()).has_value());
    EXPECT_EQ(client.session_key_K().size(), 40U);
    EXPECT_EQ(to_hex(client.session_key_K().view()), to_hex(server.session_key_K().view()));
}

class SrpHap : public ::testing::TestWithParam<SrpIntegerEncoding> {
  protected:
    SrpGroup group() const { return SrpGroup::rfc5054_3072_sha512().with_encoding(GetParam()); }
};

TEST_P(SrpHap, RoundTripWithTheRightPin) {
    SrpServer server(group(), "Pair-Setup", "1234");
    EXPECT_EQ(server.salt().size(), 16U);
    SrpClient client(group(), "Pair-Setup", "1234", server.salt(), server.public_B());
    const auto M2 = server.verify_client(client.public_A(), client.proof_M1());
    ASSERT_TRUE(M2.has_value());
    EXPECT_TRUE(client.verify_server_proof(*M2));
    EXPECT_EQ(client.session_key_K().size(), 64U);
    EXPECT_EQ(to_hex(client.session_key_K().view()), to_hex(server.session_key_K().view()));
}

TEST_P(SrpHap, WrongPinFailsOnBothSides) {
    SrpServer server(group(), "Pair-Setup", "1234");
    SrpClient client(group(), "Pair-Setup", "1235", server.salt(), server.public_B());
    EXPECT_FALSE(server.verify_client(client.public_A(), client.proof_M1()).has_value());
    EXPECT_FALSE(client.verify_server_proof(Bytes(64, 0)));
}

TEST_P(SrpHap, RejectsPublicValuesThatAreZeroModN) {
    const SrpGroup hap = group();
    SrpServer server(hap, "Pair-Setup", "1234");
    EXPECT_THROW(SrpClient(hap, "Pair-Setup", "1234", server.salt(), Bytes(384, 0)), Error);
    EXPECT_THROW(SrpClient(hap, "Pair-Setup", "1234", server.salt(), hap.prime_N), Error);
    SrpClient client(hap, "Pair-Setup", "1234", server.salt(), server.public_B());
    EXPECT_FALSE(server.verify_client(Bytes{0}, client.proof_M1()).has_value());
    EXPECT_FALSE(server.verify_client(hap.prime_N, client.proof_M1()).has_value());
}

INSTANTIATE_TEST_SUITE_P(Encodings, SrpHap,
                         ::testing::Values(SrpIntegerEncoding::minimal,
                                           SrpIntegerEncoding::padded));

// This private key gives a public value A below 2^3064, i.e. with a leading zero byte: the
// minimal encoding drops it on the wire and in the proofs, the padded one keeps it.
TEST(SrpEncoding, MinimalDropsLeadingZerosPaddedKeepsThem) {
    const Bytes a = hex("2cfc8ccbd7c0b17615323b41e815651ff2ae9ffae45a4599c0499b98ff940429");
    const SrpGroup minimal = SrpGroup::rfc5054_3072_sha512();
    const SrpGroup padded = minimal.with_encoding(SrpIntegerEncoding::padded);

    SrpServer minimal_server(minimal, "Pair-Setup", "1234");
    SrpClient minimal_client(minimal, "Pair-Setup", "1234", minimal_server.salt(),
                             minimal_server.public_B(), a);
    EXPECT_LT(minimal_client.public_A().size(), 384U);
    EXPECT_NE(minimal_client.public_A()[0], 0);
    EXPECT_TRUE(minimal_server.verify_client(minimal_client.public_A(), minimal_client.proof_M1()));

    SrpServer padded_server(padded, "Pair-Setup", "1234", minimal_server.salt());
    EXPECT_EQ(padded_server.public_B().size(), 384U);
    SrpClient padded_client(padded, "Pair-Setup", "1234", padded_server.salt(),
                            padded_server.public_B(), a);
    ASSERT_EQ(padded_client.public_A().size(), 384U);
    EXPECT_EQ(padded_client.public_A()[0], 0);
    EXPECT_TRUE(padded_server.verify_client(padded_client.public_A(), padded_client.proof_M1()));

    // The same numbers hashed the other way give another proof.
    SrpClient mixed(minimal, "Pair-Setup", "1234", padded_server.salt(), padded_server.public_B(),
                    a);
    EXPECT_NE(to_hex(mixed.proof_M1()), to_hex(padded_client.proof_M1()));
}

}  // namespace
}  // namespace atv::hap
