// atvctl's commands for a connected device: press, playing, artwork and volume.
#pragma once

#include "cli.hpp"
#include "client.hpp"

namespace atv::ctl {

inline constexpr const char* remote_interface = "org.atvd.RemoteControl1";
inline constexpr const char* player_interface = "org.atvd.Player1";
inline constexpr const char* audio_interface = "org.atvd.Audio1";

// The device, once it is known to be connected: the control interfaces exist only then.
Device connected_device(Client& client, const std::string& wanted);

int command_press(Client& client, const CommandLine& line);
int command_playing(Client& client, const CommandLine& line);
int command_artwork(Client& client, const CommandLine& line);
int command_volume(Client& client, const CommandLine& line);

// "1:05", "1:02:03" for a count of microseconds.
std::string clock_time(std::uint64_t microseconds);

}  // namespace atv::ctl
