// The data channel of AirPlay 2's MRP tunnel (protocols.md §4.5): HAP frames with the
// DataStream keys, and inside them messages with a 32-byte header — size (u32 BE, header
// included), type ("sync" or "rply" padded to 12 bytes), command (4 bytes), seqno (u64 BE),
// 4 zero bytes — whose "sync" payload is the binary plist {"params": {"data": <bytes>}}, the
// bytes being varint-length-prefixed ProtocolMessages. Every "sync" is answered by a
// header-only "rply" with its seqno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hap/session.hpp"
#include "mrp/channel.hpp"
#include "mrp/framing.hpp"
#include "support/bytes.hpp"

namespace atv::airplay {

inline constexpr std::size_t data_header_size = 32;
inline constexpr std::size_t max_data_message = 1024 * 1024;

struct DataMessage {
    std::string type;     // "sync" or "rply"
    std::string command;  // "comm" (client), "cmnd" (device), empty in replies
    std::uint64_t seqno = 0;
    Bytes payload;
};

Bytes encode_data_message(const DataMessage& message);

// Sans-I/O reader of DataMessages from decrypted bytes. Throws atv::Error(connection_failed)
// on a size below the header or over max_data_message.
class DataMessageReader {
  public:
    void feed(ByteView bytes);
    std::optional<DataMessage> next();

  private:
    Bytes pending_;
};

// {"params": {"data": framed}} as a binary plist.
Bytes mrp_payload(ByteView framed_messages);
// The ProtocolMessages in a "sync" payload (none when it has no params.data). Some devices send one
// message without its varint prefix (seen with CONFIGURE_CONNECTION): a payload starting with 0x08
// is taken as one message.
std::vector<Bytes> mrp_messages(ByteView payload);

// MrpChannel's framing for the data channel. `command` is "comm" for the client, "cmnd" for a
// device (the fake); `seqno` stays the same for every message this side sends.
class DataStreamFraming : public mrp::MessageFraming {
  public:
    DataStreamFraming(const hap::SessionKeys& keys, std::uint64_t seqno, std::string command);

    Bytes frame(ByteView message) override;
    void unframe(ByteView bytes, std::vector<Bytes>& messages, Bytes& reply) override;
    // Already varint-framed messages in one "sync" (the fake forwards MRP output this way).
    Bytes frame_framed(ByteView framed_messages);

  private:
    hap::HapFrameCipher cipher_;
    std::uint64_t seqno_;
    std::string command_;
    DataMessageReader reader_;
};

}  // namespace atv::airplay
