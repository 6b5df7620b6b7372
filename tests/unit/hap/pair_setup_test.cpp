// Controller against accessory, in memory, for the good paths and every error path.
#include "hap/pair_setup.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"
#include "hap/errors.hpp"
#include "hap/pair_verify.hpp"
#include "hap/tlv8.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

using fakes::expect_error;

using namespace std::chrono_literals;

AccessoryIdentity make_accessory(std::string device_id = "C0:FF:EE:00:00:01") {
    return AccessoryIdentity{std::move(device_id), Ed25519KeyPair::generate()};
}

template <typename Step>
HapError expect_hap_error(Step&& step) {
    try {
        step();
    } catch (const HapError& error) {
        return error;
    }
    ADD_FAILURE() << "expected a HapError";
    return HapError(ErrorKind::pairing_failed, HapErrorCode::unknown, std::nullopt, "none");
}

Bytes replace_item(ByteView message, TlvType type, Bytes value) {
    const Tlv8 decoded = Tlv8::decode(message);
    Tlv8 rebuilt;
    for (const auto item : {TlvType::seq_no, TlvType::salt, TlvType::public_key, TlvType::proof,
                            TlvType::encrypted_data, TlvType::error}) {
        if (item == type) {
            rebuilt.add(item, value);
        } else if (const auto original = decoded.get(item)) {
            rebuilt.add(item, *original);
        }
    }
    return rebuilt.encode();
}

class PairSetup : public ::testing::TestWithParam<SrpIntegerEncoding> {};

TEST_P(PairSetup, FullPairingProducesMatchingCredentials) {
    const auto accessory_identity = make_accessory();
    PairSetupAccessory accessory(accessory_identity, "031-45-154", {}, GetParam());
    const auto client = ClientIdentity::generate();
    PairSetupController controller(client, "atvd test", false, GetParam());

    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("03145154");
    const Bytes m4 = accessory.handle(controller.m3(m2));
    const Bytes m6 = accessory.handle(controller.m5(m4));
    const HapCredentials credentials = controller.finish(m6);

    EXPECT_EQ(credentials.ltpk, accessory_identity.keys.public_key);
    EXPECT_EQ(to_string(credentials.device_id), accessory_identity.device_id);
    EXPECT_EQ(to_string(credentials.client_id), client.client_id);
    EXPECT_EQ(to_hex(credentials.ltsk.view()), to_hex(client.keys.seed.view()));
    ASSERT_TRUE(accessory.paired());
    EXPECT_EQ(accessory.controller()->client_id, client.client_id);
    EXPECT_EQ(accessory.controller()->ltpk, client.keys.public_key);
    EXPECT_EQ(HapCredentials::parse(credentials.to_string()).to_string(), credentials.to_string());
}

TEST_P(PairSetup, TransientPairingSharesTheSrpKey) {
    PairSetupAccessory accessory(make_accessory(), "1111", {}, GetParam());
    PairSetupController controller(ClientIdentity::generate(), std::nullopt, true, GetParam());
    const Bytes m1 = controller.m1();
    EXPECT_EQ(Tlv8::decode(m1).get_byte(TlvType::flags), tlv_flag_transient);
    const Bytes m4 = accessory.handle(controller.m3(accessory.handle(m1)));
    controller.finish_transient(m4);
    EXPECT_EQ(controller.srp_session_key().size(), 64U);
    EXPECT_EQ(to_hex(controller.srp_session_key().view()),
              to_hex(accessory.srp_session_key().view()));
    EXPECT_FALSE(accessory.paired());
    EXPECT_EQ(expect_error([&] { (void)controller.m5(m4); }).kind(), ErrorKind::invalid_state);
}

INSTANTIATE_TEST_SUITE_P(Encodings, PairSetup,
                         ::testing::Values(SrpIntegerEncoding::minimal,
                                           SrpIntegerEncoding::padded));

TEST(PairSetupErrors, WrongPinSaysSo) {
    PairSetupAccessory accessory(make_accessory(), "1234");
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("4321");
    const Bytes m4 = accessory.handle(controller.m3(m2));
    const HapError error = expect_hap_error([&] { (void)controller.m5(m4); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_EQ(error.code(), HapErrorCode::authentication);
    EXPECT_NE(std::string(error.what()).find("PIN"), std::string::npos);
    EXPECT_FALSE(accessory.paired());
}

TEST(PairSetupErrors, BackOffCarriesTheDelay) {
    PairSetupAccessory accessory(make_accessory(), "1234", {.back_off_after_failure = 30s});
    {
        PairSetupController first(ClientIdentity::generate(), std::nullopt);
        const Bytes m2 = accessory.handle(first.m1());
        first.set_pin("9999");
        (void)accessory.handle(first.m3(m2));
    }
    PairSetupController second(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(second.m1());
    second.set_pin("1234");
    const HapError error = expect_hap_error([&] { (void)second.m3(m2); });
    EXPECT_EQ(error.kind(), ErrorKind::back_off);
    EXPECT_EQ(error.code(), HapErrorCode::back_off);
    EXPECT_EQ(error.back_off(), 30s);
    EXPECT_NE(std::string(error.what()).find("wait 30 seconds"), std::string::npos);
}

TEST(PairSetupErrors, MaxTries) {
    PairSetupAccessory accessory(make_accessory(), "1234", {.max_tries = 1});
    PairSetupController first(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(first.m1());
    first.set_pin("0000");
    (void)accessory.handle(first.m3(m2));

    PairSetupController second(ClientIdentity::generate(), std::nullopt);
    const Bytes refused = accessory.handle(second.m1());
    second.set_pin("1234");
    const HapError error = expect_hap_error([&] { (void)second.m3(refused); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_EQ(error.code(), HapErrorCode::max_tries);
}

TEST(PairSetupErrors, AlreadyPairedAccessoryIsUnavailable) {
    PairSetupAccessory accessory(make_accessory(), "1234");
    PairSetupController first(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(first.m1());
    first.set_pin("1234");
    const Bytes m4 = accessory.handle(first.m3(m2));
    (void)first.finish(accessory.handle(first.m5(m4)));

    PairSetupController second(ClientIdentity::generate(), std::nullopt);
    const Bytes refused = accessory.handle(second.m1());
    second.set_pin("1234");
    const HapError error = expect_hap_error([&] { (void)second.m3(refused); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_EQ(error.code(), HapErrorCode::unavailable);
    EXPECT_NE(std::string(error.what()).find("already paired"), std::string::npos);
}

TEST(PairSetupErrors, TamperedDeviceProofIsRefused) {
    PairSetupAccessory accessory(make_accessory(), "1234");
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("1234");
    const Bytes m4 = accessory.handle(controller.m3(m2));
    const Tlv8 decoded = Tlv8::decode(m4);
    const auto proof_view = *decoded.get(TlvType::proof);
    Bytes proof(proof_view.begin(), proof_view.end());
    proof[0] ^= 0x80;
    const Error error =
        expect_error([&] { (void)controller.m5(replace_item(m4, TlvType::proof, proof)); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_NE(std::string(error.what()).find("proof"), std::string::npos);
}

TEST(PairSetupErrors, TamperedDeviceSignatureIsRefused) {
    // The accessory signs with one key and announces another.
    auto impostor = make_accessory();
    impostor.keys.public_key = Ed25519KeyPair::generate().public_key;
    PairSetupAccessory accessory(impostor, "1234");
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("1234");
    const Bytes m4 = accessory.handle(controller.m3(m2));
    const Bytes m6 = accessory.handle(controller.m5(m4));
    const Error error = expect_error([&] { (void)controller.finish(m6); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_NE(std::string(error.what()).find("signature"), std::string::npos);
}

TEST(PairSetupErrors, TamperedEncryptedM6IsRefused) {
    PairSetupAccessory accessory(make_accessory(), "1234");
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("1234");
    const Bytes m4 = accessory.handle(controller.m3(m2));
    const Bytes m6 = accessory.handle(controller.m5(m4));
    const Tlv8 decoded = Tlv8::decode(m6);
    const auto sealed_view = *decoded.get(TlvType::encrypted_data);
    Bytes sealed(sealed_view.begin(), sealed_view.end());
    sealed[3] ^= 0x01;
    const Error error = expect_error(
        [&] { (void)controller.finish(replace_item(m6, TlvType::encrypted_data, sealed)); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
}

TEST(PairSetupErrors, ControllerWithBadSignatureIsRejectedByTheAccessory) {
    auto client = ClientIdentity::generate();
    client.keys.public_key = Ed25519KeyPair::generate().public_key;
    PairSetupAccessory accessory(make_accessory(), "1234");
    PairSetupController controller(client, std::nullopt);
    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("1234");
    const Bytes m4 = accessory.handle(controller.m3(m2));
    const Bytes m6 = accessory.handle(controller.m5(m4));
    const HapError error = expect_hap_error([&] { (void)controller.finish(m6); });
    EXPECT_EQ(error.code(), HapErrorCode::authentication);
    EXPECT_FALSE(accessory.paired());
}

TEST(PairSetupErrors, TruncatedMessagesAreReportedNotCrashed) {
    PairSetupAccessory accessory(make_accessory(), "1234");
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    const Bytes m2 = accessory.handle(controller.m1());
    controller.set_pin("1234");
    const Bytes truncated(m2.begin(), m2.begin() + 40);
    const Error error = expect_error([&] { (void)controller.m3(truncated); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_NE(std::string(error.what()).find("malformed"), std::string::npos);

    const Bytes answer = accessory.handle(Bytes{0x06, 0x01});
    EXPECT_EQ(Tlv8::decode(answer).get_byte(TlvType::error),
              static_cast<std::uint8_t>(HapErrorCode::unknown));
}

TEST(PairSetupErrors, MissingItemsAreNamed) {
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    (void)controller.m1();
    controller.set_pin("1234");
    Tlv8 no_salt;
    no_salt.add(TlvType::seq_no, std::uint8_t{2});
    no_salt.add(TlvType::public_key, Bytes(384, 7));
    const Error error = expect_error([&] { (void)controller.m3(no_salt.encode()); });
    EXPECT_NE(std::string(error.what()).find("salt"), std::string::npos);
}

TEST(PairSetupErrors, OutOfOrderCallsAndMessages) {
    PairSetupController controller(ClientIdentity::generate(), std::nullopt);
    EXPECT_EQ(expect_error([&] { (void)controller.m3({}); }).kind(), ErrorKind::invalid_state);
    EXPECT_EQ(expect_error([&] { (void)controller.m5({}); }).kind(), ErrorKind::invalid_state);
    EXPECT_EQ(expect_error([&] { (void)controller.finish({}); }).kind(), ErrorKind::invalid_state);
    EXPECT_EQ(expect_error([&] { (void)controller.srp_session_key(); }).kind(),
              ErrorKind::invalid_state);

    PairSetupAccessory accessory(make_accessory(), "1234");
    const Bytes m2 = accessory.handle(controller.m1());
    EXPECT_EQ(expect_error([&] { (void)controller.m1(); }).kind(), ErrorKind::invalid_state);
    // No PIN yet.
    EXPECT_EQ(expect_error([&] { (void)controller.m3(m2); }).kind(), ErrorKind::invalid_state);
    controller.set_pin("1234");
    // The device answers with state 4 where 2 was due.
    Tlv8 wrong_state;
    wrong_state.add(TlvType::seq_no, std::uint8_t{4});
    const Error error = expect_error([&] { (void)controller.m3(wrong_state.encode()); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_NE(std::string(error.what()).find("out of order"), std::string::npos);

    // The accessory refuses M5 before M3.
    PairSetupAccessory fresh(make_accessory(), "1234");
    Tlv8 early;
    early.add(TlvType::seq_no, std::uint8_t{5});
    early.add(TlvType::encrypted_data, Bytes(40, 1));
    const Tlv8 refused = Tlv8::decode(fresh.handle(early.encode()));
    EXPECT_EQ(refused.get_byte(TlvType::seq_no), 6);
    EXPECT_EQ(refused.get_byte(TlvType::error), static_cast<std::uint8_t>(HapErrorCode::unknown));
}

TEST(Pin, NormalisedToFourDigitsAtLeast) {
    EXPECT_EQ(normalise_pin("7"), "0007");
    EXPECT_EQ(normalise_pin("0123"), "0123");
    EXPECT_EQ(normalise_pin("031-45-154"), "031-45-154");
    EXPECT_EQ(normalise_pin("03145154"), "031-45-154");
    EXPECT_THROW((void)normalise_pin(""), Error);
    EXPECT_THROW((void)normalise_pin("12a4"), Error);
    EXPECT_THROW((void)normalise_pin("123456789"), Error);
}

}  // namespace
}  // namespace atv::hap
