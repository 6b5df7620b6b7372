#include "companion/frames.hpp"

#include <algorithm>
#include <string>

#include "atv/error.hpp"

namespace atv::companion {

namespace {

std::size_t header_length(ByteView header) {
    return (std::size_t{header[1]} << 16) | (std::size_t{header[2]} << 8) | header[3];
}

}  // namespace

FrameHeader make_frame_header(FrameType type, std::size_t payload_length) {
    if (payload_length > max_frame_length) {
        throw Error(ErrorKind::invalid_arguments, "a Companion frame payload is over 16 MiB");
    }
    return {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(payload_length >> 16),
            static_cast<std::uint8_t>(payload_length >> 8),
            static_cast<std::uint8_t>(payload_length)};
}

Bytes encode_frame(FrameType type, ByteView payload) {
    const FrameHeader header = make_frame_header(type, payload.size());
    Bytes out(header.begin(), header.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

FrameReader::FrameReader(std::size_t max_payload)
    : max_payload_(std::min(max_payload, max_frame_length)) {}

void FrameReader::feed(ByteView bytes) {
    // Drop what earlier frames used before growing the buffer.
    if (consumed_ > 0) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
        consumed_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    // Check every complete header now, so an oversized length fails before its payload is read.
    std::size_t offset = 0;
    while (buffer_.size() - offset >= frame_header_size) {
        const std::size_t length = header_length(ByteView(buffer_).subspan(offset));
        if (length > max_payload_) {
            throw Error(ErrorKind::connection_failed,
                        "the device sent a Companion frame of " + std::to_string(length) +
                            " bytes, more than the " + std::to_string(max_payload_) + " allowed");
        }
        if (buffer_.size() - offset - frame_header_size < length)
            break;
        offset += frame_header_size + length;
    }
}

std::optional<FrameReader::Complete> FrameReader::next() {
    const std::size_t available = buffer_.size() - consumed_;
    if (available < frame_header_size)
        return std::nullopt;
    const ByteView rest = ByteView(buffer_).subspan(consumed_);
    const std::size_t length = header_length(rest);
    if (available - frame_header_size < length)
        return std::nullopt;
    Complete complete;
    std::copy_n(rest.begin(), frame_header_size, complete.header.begin());
    complete.frame.type = static_cast<FrameType>(rest[0]);
    complete.frame.payload.assign(
        rest.begin() + frame_header_size,
        rest.begin() + static_cast<std::ptrdiff_t>(frame_header_size + length));
    consumed_ += frame_header_size + length;
    if (consumed_ == buffer_.size()) {
        buffer_.clear();
        consumed_ = 0;
    }
    return complete;
}

}  // namespace atv::companion
