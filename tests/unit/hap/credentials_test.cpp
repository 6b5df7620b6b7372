#include "hap/credentials.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "hap/identity.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

const std::string key_a(64, 'a');
const std::string key_b(64, 'b');
const std::string device_id_hex = to_hex(to_bytes("AA:BB:CC:DD:EE:FF"));
const std::string client_id_hex = to_hex(to_bytes("5a8b3c0e-aaaa-4bbb-8ccc-0123456789ab"));

void expect_invalid_without_echo(std::string_view text) {
    try {
        (void)HapCredentials::parse(text);
        FAIL() << "accepted invalid credentials";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
        if (text.size() > 8) {
            EXPECT_EQ(std::string(error.what()).find(text), std::string::npos);
        }
        EXPECT_EQ(std::string(error.what()).find(key_b), std::string::npos);
    }
}

TEST(HapCredentials, ParsesAndPrintsTheFourFields) {
    const std::string text = key_a + ':' + key_b + ':' + device_id_hex + ':' + client_id_hex;
    const auto credentials = HapCredentials::parse(text);
    EXPECT_EQ(to_hex(credentials.ltpk), key_a);
    EXPECT_EQ(to_hex(credentials.ltsk.view()), key_b);
    EXPECT_EQ(to_string(credentials.device_id), "AA:BB:CC:DD:EE:FF");
    EXPECT_EQ(to_string(credentials.client_id), "5a8b3c0e-aaaa-4bbb-8ccc-0123456789ab");
    EXPECT_EQ(credentials.to_string(), text);
    EXPECT_EQ(credentials_type(text), CredentialsType::hap);
}

TEST(HapCredentials, StrictParsing) {
    expect_invalid_without_echo("");
    expect_invalid_without_echo(":::");
    expect_invalid_without_echo(transient_credentials_text);
    expect_invalid_without_echo(key_a + ':' + key_b + ':' + device_id_hex);
    expect_invalid_without_echo(key_a + ':' + key_b + ':' + device_id_hex + ':' + client_id_hex +
                                ':');
    expect_invalid_without_echo(key_a + ':' + key_b + ":zz:" + client_id_hex);
    expect_invalid_without_echo(key_a.substr(2) + ':' + key_b + ':' + device_id_hex + ':' +
                                client_id_hex);
    expect_invalid_without_echo(key_a + ':' + key_b + "0:" + device_id_hex + ':' + client_id_hex);
    expect_invalid_without_echo(key_a + ':' + key_b + ':' + device_id_hex + ':' + client_id_hex +
                                "0");
}

TEST(CredentialsType, RecognisesEveryForm) {
    EXPECT_EQ(credentials_type(""), CredentialsType::none);
    EXPECT_EQ(credentials_type(":::"), CredentialsType::none);
    EXPECT_EQ(credentials_type("7472616e7369656e74:::"), CredentialsType::transient);
    EXPECT_EQ(credentials_type(':' + key_b + "::0102030405060708"), CredentialsType::legacy);
    EXPECT_EQ(credentials_type("0102030405060708:" + key_b), CredentialsType::legacy);
    EXPECT_THROW((void)credentials_type("garbage"), Error);
    EXPECT_THROW((void)credentials_type(key_a + ":::"), Error);
    EXPECT_THROW((void)credentials_type("a:b:c:d"), Error);
}

TEST(LegacyCredentials, BothFormsParseToTheSameValue) {
    const auto four = LegacyCredentials::parse(':' + key_b + "::0102030405060708");
    const auto two = LegacyCredentials::parse("0102030405060708:" + key_b);
    EXPECT_EQ(four.to_string(), two.to_string());
    EXPECT_EQ(four.to_string(), ':' + key_b + "::0102030405060708");
    EXPECT_THROW((void)LegacyCredentials::parse("01:" + key_b.substr(1)), Error);
}

TEST(ClientIdentity, SerializeAndParseRoundTrip) {
    const auto identity = ClientIdentity::generate();
    EXPECT_EQ(identity.client_id.size(), 36U);
    const std::string text = identity.serialize();
    const auto parsed = ClientIdentity::parse(text);
    EXPECT_EQ(parsed.client_id, identity.client_id);
    EXPECT_EQ(parsed.keys.public_key, identity.keys.public_key);
    EXPECT_EQ(parsed.serialize(), text);
}

TEST(ClientIdentity, ParseIsStrict) {
    const std::string good = "5a8b3c0e-aaaa-4bbb-8ccc-0123456789ab:" + key_b;
    EXPECT_NO_THROW((void)ClientIdentity::parse(good));
    for (const std::string& bad :
         {std::string(), good + "0", good.substr(0, good.size() - 1),
          "5a8b3c0e-aaaa-4bbb-8ccc-0123456789a:" + key_b + "b",
          "5a8b3c0e_aaaa-4bbb-8ccc-0123456789ab:" + key_b,
          "5a8b3c0e-aaaa-4bbb-8ccc-0123456789ab:" + key_b.substr(1) + "x"}) {
        try {
            (void)ClientIdentity::parse(bad);
            FAIL() << "accepted a malformed identity";
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
            EXPECT_EQ(std::string(error.what()).find(key_b.substr(0, 16)), std::string::npos);
        }
    }
}

}  // namespace
}  // namespace atv::hap
