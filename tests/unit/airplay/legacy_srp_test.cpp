// The legacy AirPlay SRP variant of libatv/hap against values computed independently by
// legacy_srp_vectors.py (hashlib and Python integers; the meson test 'airplay-legacy-srp-script'
// checks that the committed file is what the script computes).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "hap/srp.hpp"

namespace atv::hap {
namespace {

std::map<std::string, Bytes> load_vectors() {
    const char* dir = std::getenv("ATVD_TEST_DATA");
    std::ifstream file(std::string(dir ? dir : ".") + "/airplay/legacy_srp_vectors.txt");
    std::map<std::string, Bytes> values;
    std::string name;
    std::string hex;
    while (file >> name >> hex)
        values[name] = from_hex(hex).value();
    return values;
}

std::string strip(ByteView bytes) {
    std::string hex = to_hex(bytes);
    hex.erase(0, hex.find_first_not_of('0'));
    return hex;
}

class LegacySrp : public ::testing::Test {
  protected:
    void SetUp() override {
        v = load_vectors();
        ASSERT_EQ(v.size(), 15u) << "legacy_srp_vectors.txt not found or incomplete";
        user = to_string(v["user"]);
        pin = to_string(v["pin"]);
    }

    const SrpGroup group =
        SrpGroup::rfc5054_2048_sha1().with_session_key(SrpSessionKey::sha1_interleaved);
    std::map<std::string, Bytes> v;
    std::string user;
    std::string pin;
};

TEST_F(LegacySrp, IntermediateValuesMatchThePythonComputation) {
    EXPECT_EQ(strip(srp_multiplier_k(group)), strip(v["k"]));
    EXPECT_EQ(strip(srp_private_x(group, v["salt"], user, pin)), strip(v["x"]));
    EXPECT_EQ(strip(srp_verifier_v(group, v["salt"], user, pin)), strip(v["v"]));
    EXPECT_EQ(strip(srp_scrambler_u(group, v["A"], v["B"])), strip(v["u"]));
}

TEST_F(LegacySrp, ClientMatchesThePythonComputation) {
    const SrpClient client(group, user, pin, v["salt"], v["B"], v["a"]);
    EXPECT_EQ(strip(client.public_A()), strip(v["A"]));
    EXPECT_EQ(to_hex(client.premaster_secret_S().view()), to_hex(v["S"]));
    EXPECT_EQ(to_hex(client.session_key_K().view()), to_hex(v["K"]));
    EXPECT_EQ(to_hex(client.proof_M1()), to_hex(v["M1"]));
    EXPECT_TRUE(client.verify_server_proof(v["M2"]));
}

TEST_F(LegacySrp, ServerMatchesThePythonComputation) {
    SrpServer server(group, user, pin, v["salt"], v["b"]);
    EXPECT_EQ(strip(server.public_B()), strip(v["B"]));
    const auto M2 = server.verify_client(v["A"], v["M1"]);
    ASSERT_TRUE(M2.has_value());
    EXPECT_EQ(to_hex(*M2), to_hex(v["M2"]));
    EXPECT_EQ(to_hex(server.session_key_K().view()), to_hex(v["K"]));
}

TEST_F(LegacySrp, AWrongPinGivesAnotherProof) {
    const SrpClient client(group, user, "4822", v["salt"], v["B"], v["a"]);
    EXPECT_NE(to_hex(client.proof_M1()), to_hex(v["M1"]));
    EXPECT_FALSE(client.verify_server_proof(v["M2"]));
}

}  // namespace
}  // namespace atv::hap
