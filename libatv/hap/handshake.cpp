#include "hap/handshake.hpp"

#include <string>

namespace atv::hap::detail {

namespace {

ErrorKind failure_kind(HapStage stage) {
    return stage == HapStage::pair_setup ? ErrorKind::pairing_failed
                                         : ErrorKind::authentication_failed;
}

std::string stage_name(HapStage stage) {
    return stage == HapStage::pair_setup ? "pair-setup" : "pair-verify";
}

}  // namespace

Tlv8 decode_answer(ByteView body, HapStage stage, std::uint8_t seq_no) {
    Tlv8 message;
    try {
        message = Tlv8::decode(body);
    } catch (const Error& error) {
        throw Error(failure_kind(stage), stage_name(stage) + " M" + std::to_string(seq_no) +
                                             " from the device is malformed (" + error.what() +
                                             ")");
    }
    throw_if_device_error(message, stage, seq_no);
    const auto received = message.get_byte(TlvType::seq_no);
    if (received != seq_no) {
        throw Error(failure_kind(stage),
                    stage_name(stage) + ": the device answered out of order (expected M" +
                        std::to_string(seq_no) + ", got " +
                        (received ? "M" + std::to_string(*received) : std::string("no state")) +
                        ")");
    }
    return message;
}

ByteView require_item(const Tlv8& message, TlvType type, HapStage stage, std::uint8_t seq_no,
                      std::string_view what) {
    const auto value = message.get(type);
    if (!value || value->empty()) {
        throw Error(failure_kind(stage), stage_name(stage) + " M" + std::to_string(seq_no) +
                                             " from the device lacks the " + std::string(what));
    }
    return *value;
}

std::optional<Tlv8> decode_request(ByteView body) {
    try {
        return Tlv8::decode(body);
    } catch (const Error&) {
        return std::nullopt;
    }
}

Bytes error_answer(std::uint8_t seq_no, std::uint8_t code) {
    Tlv8 answer;
    answer.add(TlvType::seq_no, seq_no);
    answer.add(TlvType::error, code);
    return answer.encode();
}

}  // namespace atv::hap::detail
