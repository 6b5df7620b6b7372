// Pieces pair-setup and pair-verify share (internal to libatv/hap).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "hap/errors.hpp"
#include "hap/tlv8.hpp"
#include "support/bytes.hpp"

namespace atv::hap::detail {

inline Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (const auto part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

inline ByteView as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Decodes a device's answer for `seq_no`: device errors become HapError, malformed or
// out-of-order answers `failure` with a message naming the step.
Tlv8 decode_answer(ByteView body, HapStage stage, std::uint8_t seq_no);

// The value of a required item, or `failure` naming what is missing.
ByteView require_item(const Tlv8& message, TlvType type, HapStage stage, std::uint8_t seq_no,
                      std::string_view what);

// A request as an accessory reads it: nullopt when malformed.
std::optional<Tlv8> decode_request(ByteView body);

Bytes error_answer(std::uint8_t seq_no, std::uint8_t code);

}  // namespace atv::hap::detail
