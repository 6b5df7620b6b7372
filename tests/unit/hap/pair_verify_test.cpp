#include "hap/pair_verify.hpp"

#include <gtest/gtest.h>

#include <map>

#include "expect_error.hpp"
#include "hap/errors.hpp"
#include "hap/pair_setup.hpp"
#include "hap/session.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

using fakes::expect_error;

// Pairs once, then lets each test verify against the accessory.
class PairVerify : public ::testing::Test {
  protected:
    void SetUp() override {
        PairSetupAccessory setup(accessory_identity, "1234");
        PairSetupController controller(client, std::nullopt);
        const Bytes m2 = setup.handle(controller.m1());
        controller.set_pin("1234");
        const Bytes m4 = setup.handle(controller.m3(m2));
        credentials = controller.finish(setup.handle(controller.m5(m4)));
        known[setup.controller()->client_id] = setup.controller()->ltpk;
    }

    PairVerifyAccessory make_accessory(AccessoryIdentity identity) {
        return PairVerifyAccessory(std::move(identity),
                                   [this](std::string_view id) -> std::optional<Bytes> {
                                       const auto found = known.find(std::string(id));
                                       if (found == known.end()) {
                                           return std::nullopt;
                                       }
                                       return found->second;
                                   });
    }

    AccessoryIdentity accessory_identity{"C0:FF:EE:00:00:02", Ed25519KeyPair::generate()};
    ClientIdentity client = ClientIdentity::generate();
    HapCredentials credentials;
    std::map<std::string, Bytes> known;
};

TEST_F(PairVerify, BothSidesAgreeOnTheSharedSecretAndSessionKeys) {
    auto accessory = make_accessory(accessory_identity);
    PairVerifyController controller(credentials);
    const Bytes m2 = accessory.handle(controller.m1());
    const Bytes m4 = accessory.handle(controller.m3(m2));
    controller.finish(m4);
    ASSERT_TRUE(accessory.verified());
    EXPECT_EQ(controller.shared_secret().size(), 32U);
    EXPECT_EQ(to_hex(controller.shared_secret().view()), to_hex(accessory.shared_secret().view()));

    const auto ours = airplay_control_keys(controller.shared_secret().view());
    const auto theirs = reversed(airplay_control_keys(accessory.shared_secret().view()));
    HapFrameCipher sender(ours);
    HapFrameCipher receiver(theirs);
    const auto plain =
        receiver.decrypt(sender.encrypt(to_bytes("GET /accessories HTTP/1.1\r\n\r\n")));
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(to_string(*plain), "GET /accessories HTTP/1.1\r\n\r\n");
}

TEST_F(PairVerify, WrongDeviceIdIsRefused) {
    auto accessory =
        make_accessory(AccessoryIdentity{"C0:FF:EE:99:99:99", accessory_identity.keys});
    PairVerifyController controller(credentials);
    const Bytes m2 = accessory.handle(controller.m1());
    const Error error = expect_error([&] { (void)controller.m3(m2); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    EXPECT_NE(std::string(error.what()).find("identity"), std::string::npos);
}

TEST_F(PairVerify, SignatureByAnotherKeyIsRefused) {
    auto accessory =
        make_accessory(AccessoryIdentity{accessory_identity.device_id, Ed25519KeyPair::generate()});
    PairVerifyController controller(credentials);
    const Bytes m2 = accessory.handle(controller.m1());
    const Error error = expect_error([&] { (void)controller.m3(m2); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    EXPECT_NE(std::string(error.what()).find("signature"), std::string::npos);
}

TEST_F(PairVerify, TamperedEncryptedDataIsRefused) {
    auto accessory = make_accessory(accessory_identity);
    PairVerifyController controller(credentials);
    const Tlv8 m2 = Tlv8::decode(accessory.handle(controller.m1()));
    const auto sealed_view = *m2.get(TlvType::encrypted_data);
    Bytes sealed(sealed_view.begin(), sealed_view.end());
    sealed.back() ^= 0x01;
    Tlv8 tampered;
    tampered.add(TlvType::seq_no, std::uint8_t{2});
    tampered.add(TlvType::public_key, *m2.get(TlvType::public_key));
    tampered.add(TlvType::encrypted_data, sealed);
    EXPECT_EQ(expect_error([&] { (void)controller.m3(tampered.encode()); }).kind(),
              ErrorKind::authentication_failed);
}

TEST_F(PairVerify, UnknownControllerGetsAnAuthenticationError) {
    known.clear();
    auto accessory = make_accessory(accessory_identity);
    PairVerifyController controller(credentials);
    const Bytes m4 = accessory.handle(controller.m3(accessory.handle(controller.m1())));
    EXPECT_FALSE(accessory.verified());
    try {
        controller.finish(m4);
        FAIL() << "finish accepted an error";
    } catch (const HapError& error) {
        EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
        EXPECT_EQ(error.code(), HapErrorCode::authentication);
        EXPECT_NE(std::string(error.what()).find("pair again"), std::string::npos);
    }
}

TEST_F(PairVerify, ControllerWithAnotherKeyIsRefusedByTheAccessory) {
    HapCredentials forged = credentials;
    forged.ltsk = Ed25519KeyPair::generate().seed;
    auto accessory = make_accessory(accessory_identity);
    PairVerifyController controller(forged);
    const Bytes m4 = accessory.handle(controller.m3(accessory.handle(controller.m1())));
    EXPECT_FALSE(accessory.verified());
    EXPECT_EQ(expect_error([&] { controller.finish(m4); }).kind(),
              ErrorKind::authentication_failed);
}

TEST_F(PairVerify, TruncatedAndOutOfOrderMessages) {
    auto accessory = make_accessory(accessory_identity);
    PairVerifyController controller(credentials);
    EXPECT_EQ(expect_error([&] { (void)controller.m3({}); }).kind(), ErrorKind::invalid_state);
    EXPECT_EQ(expect_error([&] { controller.finish({}); }).kind(), ErrorKind::invalid_state);
    EXPECT_EQ(expect_error([&] { (void)controller.shared_secret(); }).kind(),
              ErrorKind::invalid_state);
    const Bytes m2 = accessory.handle(controller.m1());
    const Bytes truncated(m2.begin(), m2.end() - 5);
    EXPECT_EQ(expect_error([&] { (void)controller.m3(truncated); }).kind(),
              ErrorKind::authentication_failed);

    // M3 to an accessory that never sent M2.
    auto fresh = make_accessory(accessory_identity);
    Tlv8 early;
    early.add(TlvType::seq_no, std::uint8_t{3});
    early.add(TlvType::encrypted_data, Bytes(64, 0));
    const Tlv8 refused = Tlv8::decode(fresh.handle(early.encode()));
    EXPECT_EQ(refused.get_byte(TlvType::seq_no), 4);
    EXPECT_TRUE(refused.get(TlvType::error).has_value());
    EXPECT_TRUE(Tlv8::decode(fresh.handle(Bytes{0x06})).get(TlvType::error).has_value());
}

TEST_F(PairVerify, IncompleteCredentialsAreRejected) {
    HapCredentials empty;
    EXPECT_EQ(expect_error([&] { PairVerifyController controller(empty); }).kind(),
              ErrorKind::invalid_arguments);
}

}  // namespace
}  // namespace atv::hap
