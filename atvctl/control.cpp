#include "control.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace atv::ctl {

namespace {

const std::vector<std::string> known_keys = {
    "up",         "down",         "left",         "right",         "select",     "menu",
    "home",       "top_menu",     "play",         "pause",         "play_pause", "stop",
    "next",       "previous",     "skip_forward", "skip_backward", "volume_up",  "volume_down",
    "channel_up", "channel_down", "screensaver",
};

// Player1's properties in the order a person reads them; the position comes separately.
const std::vector<std::string> playing_order = {
    "State",
    "Title",
    "Artist",
    "Album",
    "Genre",
    "SeriesName",
    "SeasonNumber",
    "EpisodeNumber",
    "MediaType",
    "App",
    "AppIdentifier",
    "Shuffle",
    "Repeat",
    "ContentIdentifier",
    "ITunesStoreIdentifier",
    "ArtworkIdentifier",
};

void print_line(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::string name_of(const Device& device) {
    return text_property(device.properties, "Name");
}

std::string action_of(const CommandLine& line) {
    const bool double_tap = line.option("double").has_value();
    const bool hold = line.option("hold").has_value();
    if (double_tap && hold) {
        throw UsageError("--double and --hold exclude each other");
    }
    return double_tap ? "double" : hold ? "hold" : "single";
}

template <typename T>
T number_property(const Properties& properties, const std::string& name) {
    const auto found = properties.find(name);
    if (found == properties.end() || !found->second.containsValueOfType<T>()) {
        return T{};
    }
    return found->second.get<T>();
}

// Where the position is now: Position at PositionTimestamp, advancing at Rate.
std::uint64_t position_now(const Properties& playing) {
    const auto position = number_property<std::uint64_t>(playing, "Position");
    const auto timestamp = number_property<std::uint64_t>(playing, "PositionTimestamp");
    const double rate = number_property<double>(playing, "Rate");
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (timestamp == 0 || rate == 0.0) {
        return position;
    }
    const double elapsed = static_cast<double>(now) - static_cast<double>(timestamp);
    return static_cast<std::uint64_t>(
        std::max(0.0, static_cast<double>(position) + elapsed * rate));
}

std::pair<std::uint32_t, std::uint32_t> parse_size(const std::string& text) {
    const auto x = text.find('x');
    const auto digits = [](const std::string& part) {
        return !part.empty() && part.size() <= 5 &&
               std::all_of(part.begin(), part.end(),
                           [](unsigned char c) { return std::isdigit(c) != 0; });
    };
    if (x == std::string::npos || !digits(text.substr(0, x)) || !digits(text.substr(x + 1))) {
        throw UsageError("--size takes WIDTHxHEIGHT in pixels, e.g. 512x512, got '" + text + "'");
    }
    return {static_cast<std::uint32_t>(std::stoul(text.substr(0, x))),
            static_cast<std::uint32_t>(std::stoul(text.substr(x + 1)))};
}

double parse_volume(const std::string& text) {
    std::size_t used = 0;
    double volume = -1;
    try {
        volume = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || !(volume >= 0 && volume <= 100)) {
        throw UsageError("the volume is a number from 0 to 100, up or down, got '" + text + "'");
    }
    return volume;
}

std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

}  // namespace

Device connected_device(Client& client, const std::string& wanted) {
    Device device = client.resolve(wanted);
    if (text_property(device.properties, "Connected") != "yes") {
        const std::string name = text_property(device.properties, "Name");
        throw std::runtime_error(name + " is not connected; run 'atvctl connect " + wanted +
                                 "' first");
    }
    return device;
}

std::string clock_time(std::uint64_t microseconds) {
    const std::uint64_t seconds = microseconds / 1'000'000;
    char text[32];
    if (seconds >= 3600) {
        std::snprintf(text, sizeof text, "%llu:%02llu:%02llu",
                      static_cast<unsigned long long>(seconds / 3600),
                      static_cast<unsigned long long>(seconds / 60 % 60),
                      static_cast<unsigned long long>(seconds % 60));
    } else {
        std::snprintf(text, sizeof text, "%llu:%02llu",
                      static_cast<unsigned long long>(seconds / 60),
                      static_cast<unsigned long long>(seconds % 60));
    }
    return text;
}

int command_press(Client& client, const CommandLine& line) {
    const std::string& key = line.arguments[1];
    if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end()) {
        throw UsageError("unknown key '" + key + "' (see atvctl --help)");
    }
    const std::string action = action_of(line);
    const Device device = connected_device(client, line.arguments[0]);
    std::map<std::string, sdbus::Variant> options;
    options["Action"] = action;
    client.proxy(device.path)
        ->callMethod("Press")
        .onInterface(remote_interface)
        .withArguments(key, options);
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) + ", \"Key\": " + json_quote(key) +
                   ", \"Action\": " + json_quote(action) + "}");
    } else {
        print_line("Pressed " + key + (action == "single" ? "" : " (" + action + ")") + " on " +
                   name_of(device));
    }
    return 0;
}

int command_playing(Client& client, const CommandLine& line) {
    const Device device = connected_device(client, line.arguments[0]);
    const Properties playing = client.properties(device.path, player_interface);
    if (line.json) {
        print_line(properties_to_json(playing, {"\"Path\": " + json_quote(device.path)}));
        return 0;
    }
    for (const std::string& name : playing_order) {
        const std::string value = text_property(playing, name);
        if (!value.empty() && value != "0") {
            print_line(name + ": " + value);
        }
    }
    const auto duration = number_property<std::uint64_t>(playing, "Duration");
    if (duration > 0 || text_property(playing, "State") == "playing") {
        print_line("Position: " + clock_time(position_now(playing)) + " / " + clock_time(duration));
    }
    return 0;
}

int command_artwork(Client& client, const CommandLine& line) {
    const auto file = line.option("output");
    if (!file || file->empty()) {
        throw UsageError("'artwork' needs -o FILE");
    }
    const auto [width, height] = line.option("size") ? parse_size(*line.option("size"))
                                                     : std::pair<std::uint32_t, std::uint32_t>{};
    const Device device = connected_device(client, line.arguments[0]);
    sdbus::Struct<std::string, std::vector<std::uint8_t>, std::uint32_t, std::uint32_t> artwork;
    client.proxy(device.path)
        ->callMethod("GetArtwork")
        .onInterface(player_interface)
        .withArguments(width, height)
        .storeResultsTo(artwork);
    const std::string& mime_type = std::get<0>(artwork);
    const std::vector<std::uint8_t>& data = std::get<1>(artwork);
    const std::uint32_t got_width = std::get<2>(artwork);
    const std::uint32_t got_height = std::get<3>(artwork);
    std::ofstream out(*file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + *file);
    }
    const std::string size = std::to_string(got_width) + "x" + std::to_string(got_height);
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) + ", \"File\": " + json_quote(*file) +
                   ", \"MimeType\": " + json_quote(mime_type) + ", \"Width\": " +
                   std::to_string(got_width) + ", \"Height\": " + std::to_string(got_height) +
                   ", \"Bytes\": " + std::to_string(data.size()) + "}");
    } else {
        print_line("Saved the artwork of " + name_of(device) + " (" + mime_type + ", " + size +
                   ", " + std::to_string(data.size()) + " bytes) to " + *file);
    }
    return 0;
}

int command_volume(Client& client, const CommandLine& line) {
    const std::string wanted = line.arguments.size() > 1 ? line.arguments[1] : std::string{};
    const std::optional<double> level = wanted.empty() || wanted == "up" || wanted == "down"
                                            ? std::nullopt
                                            : std::optional(parse_volume(wanted));
    const Device device = connected_device(client, line.arguments[0]);
    auto proxy = client.proxy(device.path);
    if (level) {
        proxy->callMethod("SetVolume").onInterface(audio_interface).withArguments(*level);
    } else if (wanted == "up") {
        proxy->callMethod("VolumeUp").onInterface(audio_interface);
    } else if (wanted == "down") {
        proxy->callMethod("VolumeDown").onInterface(audio_interface);
    }
    // Read back in every case: what the device settled on, not what was asked.
    const double volume = proxy->getProperty("Volume").onInterface(audio_interface).get<double>();
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) +
                   ", \"Volume\": " + format_number(volume) + "}");
    } else {
        print_line("Volume of " + name_of(device) + ": " + format_number(volume));
    }
    return 0;
}

}  // namespace atv::ctl
