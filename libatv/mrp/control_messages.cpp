#include "mrp/control_messages.hpp"

#include <algorithm>
#include <array>

namespace atv::mrp {

namespace {

// An IOHIDEvent keyboard record as remotes send it: an 8-byte timestamp, a fixed header, the
// usage page, usage and down flag (each a big-endian 16-bit value), then a fixed trailer.
// Devices accept any timestamp.
constexpr std::size_t hid_timestamp_bytes = 8;
constexpr std::array<std::uint8_t, 35> hid_header = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
constexpr std::array<std::uint8_t, 8> hid_timestamp = {0x43, 0x89, 0x22, 0xcf,
                                                       0x08, 0x02, 0x00, 0x00};
constexpr std::array<std::uint8_t, 11> hid_trailer = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                                      0x00, 0x01, 0x00, 0x00, 0x00};
constexpr std::size_t hid_key_offset = hid_timestamp_bytes + hid_header.size();
constexpr std::size_t hid_record_bytes = hid_key_offset + 6 + hid_trailer.size();

void put_u16(Bytes& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

std::uint16_t get_u16(std::string_view data, std::size_t offset) {
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(data[offset]) << 8) |
                                      static_cast<std::uint8_t>(data[offset + 1]));
}

bool matches(std::string_view data, std::size_t offset, const auto& expected) {
    return std::equal(expected.begin(), expected.end(), data.begin() + offset,
                      [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
}

}  // namespace

ProtocolMessage send_command(Command command, const proto::CommandOptions& options) {
    ProtocolMessage message = make_request(ProtocolMessage::SEND_COMMAND_MESSAGE);
    auto* inner = message.MutableExtension(proto::sendCommandMessage);
    inner->set_command(command);
    if (options.ByteSizeLong() > 0) {
        *inner->mutable_options() = options;
    }
    return message;
}

ProtocolMessage send_hid_event(HidKey key, bool down) {
    Bytes record(hid_timestamp.begin(), hid_timestamp.end());
    record.insert(record.end(), hid_header.begin(), hid_header.end());
    put_u16(record, key.page);
    put_u16(record, key.usage);
    put_u16(record, down ? 1 : 0);
    record.insert(record.end(), hid_trailer.begin(), hid_trailer.end());
    ProtocolMessage message = make_message(ProtocolMessage::SEND_HID_EVENT_MESSAGE);
    message.MutableExtension(proto::sendHIDEventMessage)
        ->set_hideventdata(record.data(), record.size());
    return message;
}

std::optional<HidEvent> read_hid_event(const proto::SendHIDEventMessage& message) {
    const std::string_view data = message.hideventdata();
    if (data.size() != hid_record_bytes || !matches(data, hid_timestamp_bytes, hid_header) ||
        !matches(data, hid_key_offset + 6, hid_trailer)) {
        return std::nullopt;
    }
    const std::uint16_t down = get_u16(data, hid_key_offset + 4);
    if (down > 1) {
        return std::nullopt;
    }
    return HidEvent{{get_u16(data, hid_key_offset), get_u16(data, hid_key_offset + 2)}, down == 1};
}

ProtocolMessage playback_queue_request(std::int32_t location, std::uint32_t width,
                                       std::uint32_t height) {
    ProtocolMessage message = make_request(ProtocolMessage::PLAYBACK_QUEUE_REQUEST_MESSAGE);
    auto* request = message.MutableExtension(proto::playbackQueueRequestMessage);
    request->set_location(location);
    request->set_length(1);
    request->set_includemetadata(true);
    // -1 asks for the device's own size in that dimension (or the aspect ratio's).
    request->set_artworkwidth(width == 0 ? -1.0 : static_cast<double>(width));
    request->set_artworkheight(height == 0 ? -1.0 : static_cast<double>(height));
    return message;
}

ProtocolMessage set_volume(float level, const std::string& output_device_uid) {
    ProtocolMessage message = make_message(ProtocolMessage::SET_VOLUME_MESSAGE);
    auto* inner = message.MutableExtension(proto::setVolumeMessage);
    inner->set_volume(level);
    if (!output_device_uid.empty()) {
        inner->set_outputdeviceuid(output_device_uid);
    }
    return message;
}

std::string command_name(Command command) {
    const std::string& name = proto::Command::Enum_Name(command);
    return name.empty() ? "Command" + std::to_string(static_cast<int>(command)) : name;
}

}  // namespace atv::mrp
