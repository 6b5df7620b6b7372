#include "hap/errors.hpp"

#include <gtest/gtest.h>

#include "hap/tlv8.hpp"

namespace atv::hap {
namespace {

using namespace std::chrono_literals;

HapError thrown_by(const Tlv8& message, HapStage stage, std::uint8_t seq_no) {
    try {
        throw_if_device_error(message, stage, seq_no);
    } catch (const HapError& error) {
        return error;
    }
    ADD_FAILURE() << "no error thrown";
    return HapError(ErrorKind::not_found, HapErrorCode::unknown, std::nullopt, "");
}

Tlv8 error_message(std::uint8_t code) {
    Tlv8 message;
    message.add(TlvType::seq_no, std::uint8_t{2});
    message.add(TlvType::error, code);
    return message;
}

TEST(HapErrors, NoErrorItemNoThrow) {
    Tlv8 message;
    message.add(TlvType::seq_no, std::uint8_t{2});
    EXPECT_NO_THROW(throw_if_device_error(message, HapStage::pair_setup, 2));
}

TEST(HapErrors, KindsAndTextsPerCode) {
    struct Case {
        std::uint8_t code;
        HapStage stage;
        ErrorKind kind;
        HapErrorCode parsed;
        const char* words;
    };
    const Case cases[] = {
        {2, HapStage::pair_verify, ErrorKind::authentication_failed, HapErrorCode::authentication,
         "pair again"},
        {4, HapStage::pair_setup, ErrorKind::pairing_failed, HapErrorCode::max_peers, "remove"},
        {5, HapStage::pair_setup, ErrorKind::pairing_failed, HapErrorCode::max_tries, "restart"},
        {6, HapStage::pair_setup, ErrorKind::pairing_failed, HapErrorCode::unavailable,
         "already paired"},
        {7, HapStage::pair_setup, ErrorKind::pairing_failed, HapErrorCode::busy, "busy"},
        {1, HapStage::pair_verify, ErrorKind::authentication_failed, HapErrorCode::unknown, "M2"},
        {42, HapStage::pair_setup, ErrorKind::pairing_failed, HapErrorCode::unknown, "unknown"},
    };
    for (const auto& each : cases) {
        const HapError error = thrown_by(error_message(each.code), each.stage, 2);
        EXPECT_EQ(error.kind(), each.kind) << int(each.code);
        EXPECT_EQ(error.code(), each.parsed) << int(each.code);
        EXPECT_NE(std::string(error.what()).find(each.words), std::string::npos) << error.what();
        EXPECT_FALSE(error.back_off().has_value());
    }
}

TEST(HapErrors, BackOffWithAndWithoutDelay) {
    Tlv8 with_delay = error_message(3);
    with_delay.add(TlvType::back_off, Bytes{0x2c, 0x01});
    const HapError timed = thrown_by(with_delay, HapStage::pair_setup, 2);
    EXPECT_EQ(timed.kind(), ErrorKind::back_off);
    EXPECT_EQ(timed.back_off(), 300s);
    EXPECT_NE(std::string(timed.what()).find("wait 300 seconds"), std::string::npos);

    const HapError untimed = thrown_by(error_message(3), HapStage::pair_setup, 2);
    EXPECT_EQ(untimed.kind(), ErrorKind::back_off);
    EXPECT_FALSE(untimed.back_off().has_value());
    EXPECT_NE(std::string(untimed.what()).find("wait"), std::string::npos);
}

TEST(HapErrors, CodeNames) {
    EXPECT_EQ(error_code_name(HapErrorCode::back_off), "BackOff");
    EXPECT_EQ(error_code_name(HapErrorCode::unavailable), "Unavailable");
}

}  // namespace
}  // namespace atv::hap
