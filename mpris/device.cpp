#include "device.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace atvd::mpris {

namespace {

template <typename T>
void take(const Properties& properties, const char* name, T& into) {
    const auto found = properties.find(name);
    if (found != properties.end() && found->second.containsValueOfType<T>()) {
        into = found->second.get<T>();
    }
}

}  // namespace

std::uint64_t now_epoch_us() {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(since).count());
}

double NowPlaying::position_at(std::uint64_t now_us) const {
    double position = static_cast<double>(position_us);
    // A rate the device got wrong (NaN, infinite) does not move the position.
    if (rate != 0.0 && std::isfinite(rate) && position_timestamp_us != 0) {
        position +=
            (static_cast<double>(now_us) - static_cast<double>(position_timestamp_us)) * rate;
    }
    if (duration_us > 0) {
        position = std::min(position, static_cast<double>(duration_us));
    }
    return std::isfinite(position) ? std::max(position, 0.0) : 0.0;
}

std::string NowPlaying::item_key() const {
    if (!content_identifier.empty()) {
        return "id:" + content_identifier;
    }
    // Separated by a byte no valid title holds, so fields cannot run into each other.
    return "md:" + title + '\x1f' + artist + '\x1f' + album;
}

void DeviceState::apply(const std::string& interface, const Properties& properties) {
    if (interface == device_interface) {
        take(properties, "Name", name);
        take(properties, "Features", features);
    } else if (interface == player_interface) {
        take(properties, "State", playing.state);
        take(properties, "Title", playing.title);
        take(properties, "Artist", playing.artist);
        take(properties, "Album", playing.album);
        take(properties, "Genre", playing.genre);
        take(properties, "ContentIdentifier", playing.content_identifier);
        take(properties, "ArtworkIdentifier", playing.artwork_identifier);
        take(properties, "Shuffle", playing.shuffle);
        take(properties, "Repeat", playing.repeat);
        take(properties, "Duration", playing.duration_us);
        take(properties, "Position", playing.position_us);
        take(properties, "PositionTimestamp", playing.position_timestamp_us);
        take(properties, "Rate", playing.rate);
    } else if (interface == audio_interface) {
        take(properties, "Volume", volume);
    }
}

bool DeviceState::available(const std::string& feature) const {
    const auto found = features.find(feature);
    return found != features.end() && found->second == "available";
}

}  // namespace atvd::mpris
