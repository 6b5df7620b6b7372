#include "airplay/datastream.hpp"

#include "airplay/plist.hpp"
#include "atv/error.hpp"

namespace atv::airplay {

namespace {

void append_be(Bytes& out, std::uint64_t value, std::size_t width) {
    for (std::size_t i = width; i-- > 0;)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint64_t read_be(ByteView bytes) {
    std::uint64_t value = 0;
    for (const std::uint8_t byte : bytes)
        value = (value << 8) | byte;
    return value;
}

// A fixed-width text field: the text, then zero bytes.
void append_padded(Bytes& out, std::string_view text, std::size_t width) {
    const std::size_t used = std::min(text.size(), width);
    out.insert(out.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(used));
    out.insert(out.end(), width - used, 0);
}

std::string read_padded(ByteView field) {
    std::string text(field.begin(), field.end());
    text.erase(text.find_last_not_of('\0') + 1);
    return text;
}

}  // namespace

Bytes encode_data_message(const DataMessage& message) {
    Bytes out;
    out.reserve(data_header_size + message.payload.size());
    append_be(out, data_header_size + message.payload.size(), 4);
    append_padded(out, message.type, 12);
    append_padded(out, message.command, 4);
    append_be(out, message.seqno, 8);
    append_be(out, 0, 4);
    out.insert(out.end(), message.payload.begin(), message.payload.end());
    return out;
}

void DataMessageReader::feed(ByteView bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
}

std::optional<DataMessage> DataMessageReader::next() {
    if (pending_.size() < 4)
        return std::nullopt;
    const std::uint64_t size = read_be(ByteView(pending_).first(4));
    if (size < data_header_size || size > max_data_message) {
        throw Error(ErrorKind::connection_failed,
                    "a data channel message of " + std::to_string(size) +
                        " bytes: the header is 32 bytes and no message may exceed 1 MiB");
    }
    if (pending_.size() < size)
        return std::nullopt;
    const ByteView whole(pending_.data(), size);
    DataMessage message;
    message.type = read_padded(whole.subspan(4, 12));
    message.command = read_padded(whole.subspan(16, 4));
    message.seqno = read_be(whole.subspan(20, 8));
    message.payload.assign(whole.begin() + data_header_size, whole.end());
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(size));
    return message;
}

Bytes mrp_payload(ByteView framed_messages) {
    const PlistValue payload = PlistDict{
        {"params", PlistDict{{"data", Bytes(framed_messages.begin(), framed_messages.end())}}}};
    return plist_encode(payload);
}

std::vector<Bytes> mrp_messages(ByteView payload) {
    const PlistValue value = plist_decode(payload);
    const PlistValue* params = value.find("params");
    const PlistValue* data = params != nullptr ? params->find("data") : nullptr;
    const auto bytes = data != nullptr ? data->data() : std::nullopt;
    if (!bytes)
        return {};  // a request of the device that carries no MRP message
    if (!bytes->empty() && (*bytes)[0] == 0x08)
        return {Bytes(bytes->begin(), bytes->end())};
    mrp::FrameReader reader;
    reader.feed(*bytes);
    std::vector<Bytes> messages;
    while (auto message = reader.next())
        messages.push_back(std::move(*message));
    if (reader.buffered() != 0) {
        throw Error(ErrorKind::connection_failed,
                    "a data channel message ends inside an MRP message");
    }
    return messages;
}

DataStreamFraming::DataStreamFraming(const hap::SessionKeys& keys, std::uint64_t seqno,
                                     std::string command)
    : cipher_(keys), seqno_(seqno), command_(std::move(command)) {}

Bytes DataStreamFraming::frame(ByteView message) {
    return frame_framed(mrp::encode_frame(message));
}

Bytes DataStreamFraming::frame_framed(ByteView framed_messages) {
    DataMessage sync{"sync", command_, seqno_, mrp_payload(framed_messages)};
    return cipher_.encrypt(encode_data_message(sync));
}

void DataStreamFraming::unframe(ByteView bytes, std::vector<Bytes>& messages, Bytes& reply) {
    if (auto opened = cipher_.decrypt(bytes))
        reader_.feed(*opened);
    while (auto message = reader_.next()) {
        if (message->type != "sync")
            continue;  // our own messages' acknowledgements
        const DataMessage ack{"rply", "", message->seqno, {}};
        const Bytes sealed = cipher_.encrypt(encode_data_message(ack));
        reply.insert(reply.end(), sealed.begin(), sealed.end());
        for (Bytes& mrp : mrp_messages(message->payload))
            messages.push_back(std::move(mrp));
    }
}

}  // namespace atv::airplay
