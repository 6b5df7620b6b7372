// Builders and readers of the MRP messages of control: commands, HID key events, the playback
// queue request and volume. Shared by MrpControl and the fake Apple TV.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mrp/messages.hpp"
#include "mrp_control.pb.h"

namespace atv::mrp {

using Command = proto::Command::Enum;

// One key as USB HID names it: a usage page and a usage on it.
struct HidKey {
    std::uint16_t page = 0;
    std::uint16_t usage = 0;
    bool operator==(const HidKey&) const = default;
};

struct HidEvent {
    HidKey key;
    bool down = false;
};

// A SEND_COMMAND_MESSAGE request (answered by SEND_COMMAND_RESULT_MESSAGE).
ProtocolMessage send_command(Command command, const proto::CommandOptions& options = {});
// A SEND_HID_EVENT_MESSAGE carrying one IOHIDEvent keyboard record.
ProtocolMessage send_hid_event(HidKey key, bool down);
// The key and direction of a SEND_HID_EVENT_MESSAGE; nullopt when its bytes are not the
// keyboard record a remote sends.
std::optional<HidEvent> read_hid_event(const proto::SendHIDEventMessage& message);
// A PLAYBACK_QUEUE_REQUEST_MESSAGE for the item at `location` with its artwork at the size
// given (0: the device's own size).
ProtocolMessage playback_queue_request(std::int32_t location, std::uint32_t width,
                                       std::uint32_t height);
// A SET_VOLUME_MESSAGE; `level` from 0.0 to 1.0.
ProtocolMessage set_volume(float level, const std::string& output_device_uid);

// "Play", "SkipForward", ... as the device names its commands.
std::string command_name(Command command);

}  // namespace atv::mrp
