// TLV8, the container of every HAP pairing message (type, length, value; values over 255 bytes
// are split into consecutive items of the same type).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "support/bytes.hpp"

namespace atv::hap {

enum class TlvType : std::uint8_t {
    method = 0x00,
    identifier = 0x01,
    salt = 0x02,
    public_key = 0x03,
    proof = 0x04,
    encrypted_data = 0x05,
    seq_no = 0x06,
    error = 0x07,
    back_off = 0x08,
    certificate = 0x09,
    signature = 0x0a,
    permissions = 0x0b,
    fragment_data = 0x0c,
    fragment_last = 0x0d,
    name = 0x11,
    flags = 0x13,
    separator = 0xff,
};

enum class TlvMethod : std::uint8_t {
    pair_setup = 0,
    pair_setup_with_auth = 1,
    pair_verify = 2,
    add_pairing = 3,
    remove_pairing = 4,
    list_pairings = 5,
};

// Flags (0x13) bit asking for a transient pair-setup (M1..M4 only).
inline constexpr std::uint8_t tlv_flag_transient = 0x10;

class Tlv8 {
  public:
    void add(TlvType type, ByteView value);
    void add(TlvType type, std::uint8_t value);

    // The value of the first item of this type (fragments already joined).
    [[nodiscard]] std::optional<ByteView> get(TlvType type) const;
    // A one-byte value, as used by SeqNo, Method, Error and Flags.
    [[nodiscard]] std::optional<std::uint8_t> get_byte(TlvType type) const;
    // A little-endian unsigned value of up to 8 bytes (BackOff).
    [[nodiscard]] std::optional<std::uint64_t> get_uint(TlvType type) const;
    [[nodiscard]] bool empty() const { return items_.empty(); }

    [[nodiscard]] Bytes encode() const;
    // Throws atv::Error(connection_failed) when an item is cut short.
    static Tlv8 decode(ByteView data);

  private:
    std::vector<std::pair<TlvType, Bytes>> items_;
};

}  // namespace atv::hap
