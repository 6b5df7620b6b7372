// MRP framing: each message is a protobuf varint (LEB128) length followed by that many bytes.
// Sans-I/O: the reader takes bytes as they arrive and hands out whole frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "support/bytes.hpp"

namespace atv::mrp {

// A frame larger than this is refused: no MRP message comes near it.
inline constexpr std::size_t default_max_frame_size = 1024 * 1024;

// LEB128: seven bits per byte, least significant group first, high bit = more follows.
void append_varint(Bytes& out, std::uint64_t value);
Bytes encode_frame(ByteView payload);

// The outcome of reading a varint from the start of a buffer.
struct VarintRead {
    std::uint64_t value = 0;
    std::size_t length = 0;  // bytes consumed; 0 when the buffer ends inside the varint
};

// Throws atv::Error(connection_failed) when the varint runs over 10 bytes or 64 bits.
VarintRead read_varint(ByteView data);

class FrameReader {
  public:
    explicit FrameReader(std::size_t max_frame_size = default_max_frame_size)
        : max_frame_size_(max_frame_size) {}

    void feed(ByteView data);
    // The next whole frame, or nullopt until more bytes arrive. Throws
    // atv::Error(connection_failed) on a malformed length or one over the limit; the reader
    // is then unusable (the stream cannot be resynchronised).
    std::optional<Bytes> next();
    // next() without the copy: the frame inside the reader's buffer, valid until the next
    // call of feed, next or next_view.
    std::optional<ByteView> next_view();
    // Bytes received but not yet handed out.
    [[nodiscard]] std::size_t buffered() const { return buffer_.size() - consumed_; }

  private:
    std::size_t max_frame_size_;
    Bytes buffer_;
    std::size_t consumed_ = 0;
};

}  // namespace atv::mrp
