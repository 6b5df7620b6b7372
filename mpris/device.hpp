// What atvd says about one device, as atvd-mpris keeps it: the parts of Device1, Player1,
// Audio1 and RemoteControl1 that MPRIS needs, updated from GetManagedObjects and signals.
#pragma once

#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <string>

namespace atvd::mpris {

using Properties = std::map<std::string, sdbus::Variant>;

inline constexpr const char* device_interface = "org.atvd.Device1";
inline constexpr const char* player_interface = "org.atvd.Player1";
inline constexpr const char* remote_interface = "org.atvd.RemoteControl1";
inline constexpr const char* audio_interface = "org.atvd.Audio1";

struct NowPlaying {
    std::string state;  // idle, no-media, loading, playing, paused, stopped, seeking
    std::string title;
    std::string artist;
    std::string album;
    std::string genre;
    std::string content_identifier;
    std::string artwork_identifier;
    std::string shuffle;  // off, songs, albums
    std::string repeat;   // off, track, all
    std::uint64_t duration_us = 0;
    std::uint64_t position_us = 0;
    std::uint64_t position_timestamp_us = 0;  // since the epoch
    double rate = 0.0;

    // Where the position has run to at `now_us` (since the epoch), within the item.
    [[nodiscard]] double position_at(std::uint64_t now_us) const;
    // What tells one item from the next: its content identifier, or what it shows.
    [[nodiscard]] std::string item_key() const;
    [[nodiscard]] bool has_item() const { return !title.empty() || duration_us > 0; }
};

struct DeviceState {
    std::string path;
    std::string id;  // the last element of the path, as atvd makes it: [A-Za-z0-9_]
    std::string name;
    std::map<std::string, std::string> features;
    bool has_player = false;
    bool has_remote = false;
    bool has_audio = false;
    NowPlaying playing;
    double volume = 0.0;  // 0-100

    // Takes the properties of one of atvd's interfaces; unknown names are ignored.
    void apply(const std::string& interface, const Properties& properties);
    [[nodiscard]] bool available(const std::string& feature) const;
};

std::uint64_t now_epoch_us();

}  // namespace atvd::mpris
