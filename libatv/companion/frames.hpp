// Companion frames (protocols.md §6.1): 1-byte type, 3-byte big-endian payload length, payload.
// Sans-I/O: the reader takes bytes as they arrive and yields complete frames.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <optional>

#include "support/bytes.hpp"

namespace atv::companion {

enum class FrameType : std::uint8_t {
    unknown = 0x00,
    no_op = 0x01,
    ps_start = 0x03,
    ps_next = 0x04,
    pv_start = 0x05,
    pv_next = 0x06,
    u_opack = 0x07,
    e_opack = 0x08,
    p_opack = 0x09,
    pa_req = 0x0A,
    pa_rsp = 0x0B,
    session_start_request = 0x10,
    session_start_response = 0x11,
    session_data = 0x12,
    family_identity_request = 0x20,
    family_identity_response = 0x21,
    family_identity_update = 0x22,
};

inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::size_t max_frame_length = 0xFFFFFF;
// Nothing the link exchanges comes near this; larger lengths are refused unless configured.
inline constexpr std::size_t default_frame_limit = 1024 * 1024;

struct Frame {
    FrameType type = FrameType::unknown;
    Bytes payload;  // still encrypted when the session is
};

using FrameHeader = std::array<std::uint8_t, frame_header_size>;

// Throws atv::Error(invalid_arguments) when `payload_length` exceeds 2^24-1.
FrameHeader make_frame_header(FrameType type, std::size_t payload_length);
Bytes encode_frame(FrameType type, ByteView payload);

class FrameReader {
  public:
    explicit FrameReader(std::size_t max_payload = default_frame_limit);
    // Buffers bytes; throws atv::Error(connection_failed) as soon as a header announces a
    // payload above the limit, before anything is allocated for it.
    void feed(ByteView bytes);
    // The next complete frame with its raw header (the AAD when encrypted).
    struct Complete {
        FrameHeader header;
        Frame frame;
    };
    std::optional<Complete> next();
    [[nodiscard]] std::size_t buffered() const { return buffer_.size(); }

  private:
    std::size_t max_payload_;
    Bytes buffer_;
    std::size_t consumed_ = 0;
};

}  // namespace atv::companion
