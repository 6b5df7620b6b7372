#include "mrp/framing.hpp"

#include <string>

#include "atv/error.hpp"

namespace atv::mrp {

namespace {

constexpr std::size_t max_varint_bytes = 10;

}  // namespace

void append_varint(Bytes& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(value | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(value));
}

Bytes encode_frame(ByteView payload) {
    Bytes frame;
    frame.reserve(payload.size() + max_varint_bytes);
    append_varint(frame, payload.size());
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

VarintRead read_varint(ByteView data) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (i == max_varint_bytes) {
            break;
        }
        const std::uint64_t group = data[i] & 0x7f;
        // The tenth byte may only hold the single top bit of a 64-bit value.
        if (i == max_varint_bytes - 1 && group > 1) {
            throw Error(ErrorKind::connection_failed,
                        "MRP length prefix does not fit 64 bits; the stream is corrupt");
        }
        value |= group << (7 * i);
        if ((data[i] & 0x80) == 0) {
            return {value, i + 1};
        }
    }
    if (data.size() >= max_varint_bytes) {
        throw Error(ErrorKind::connection_failed,
                    "MRP length prefix is longer than 10 bytes; the stream is corrupt");
    }
    return {};
}

void FrameReader::feed(ByteView data) {
    // Drop what was handed out before growing, so the buffer stays near one frame in size.
    if (consumed_ > 0) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
        consumed_ = 0;
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
}

std::optional<Bytes> FrameReader::next() {
    const auto frame = next_view();
    if (!frame) {
        return std::nullopt;
    }
    return Bytes(frame->begin(), frame->end());
}

std::optional<ByteView> FrameReader::next_view() {
    const ByteView pending = ByteView(buffer_).subspan(consumed_);
    const VarintRead length = read_varint(pending);
    if (length.length == 0) {
        return std::nullopt;
    }
    if (length.value > max_frame_size_) {
        throw Error(ErrorKind::connection_failed, "MRP message of " + std::to_string(length.value) +
                                                      " bytes exceeds the limit of " +
                                                      std::to_string(max_frame_size_) +
                                                      " bytes; the device sent corrupt data");
    }
    const auto size = static_cast<std::size_t>(length.value);
    if (pending.size() - length.length < size) {
        return std::nullopt;
    }
    const ByteView frame = pending.subspan(length.length, size);
    consumed_ += length.length + size;
    return frame;
}

}  // namespace atv::mrp
