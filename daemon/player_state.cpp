#include "player_state.hpp"

#include <algorithm>
#include <cmath>

namespace atvd {

namespace {

using atv::Feature;

bool any_supported(const atv::FeatureMap& features, std::initializer_list<Feature> wanted) {
    return std::any_of(wanted.begin(), wanted.end(), [&](Feature feature) {
        const auto found = features.find(feature);
        return found != features.end() && found->second != atv::FeatureState::unsupported;
    });
}

// Where `from`'s position has run to at `at`, at its rate.
double extrapolated_us(const atv::NowPlaying& from, std::chrono::system_clock::time_point at) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(at - from.position_timestamp);
    return static_cast<double>(from.position.count()) +
           static_cast<double>(elapsed.count()) * from.rate;
}

// The length of the UTF-8 sequence starting at `at`, or 0 when it is not a valid one.
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t length = 0;
    unsigned min = 0;
    unsigned code = 0;
    if (lead < 0x80) {
        return 1;
    } else if ((lead & 0xE0) == 0xC0) {
        length = 2, min = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, min = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, min = 0x10000, code = lead & 0x07;
    } else {
        return 0;
    }
    if (at + length > text.size()) {
        return 0;
    }
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (byte(at + i) & 0x3F);
    }
    const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
    return code < min || code > 0x10FFFF || surrogate ? 0 : length;
}

}  // namespace

std::map<std::string, std::string> feature_table(const atv::FeatureMap& features) {
    std::map<std::string, std::string> table;
    for (std::size_t index = 0; index < atv::feature_count; ++index) {
        const auto feature = static_cast<Feature>(index);
        const auto found = features.find(feature);
        const auto state = found == features.end() ? atv::FeatureState::unsupported : found->second;
        table.emplace(atv::to_string(feature), atv::to_string(state));
    }
    return table;
}

ControlInterfaces control_interfaces(const atv::FeatureMap& features) {
    ControlInterfaces interfaces;
    interfaces.remote_control = any_supported(
        features, {Feature::up,           Feature::down,          Feature::left,
                   Feature::right,        Feature::select,        Feature::menu,
                   Feature::home,         Feature::home_hold,     Feature::top_menu,
                   Feature::play,         Feature::pause,         Feature::play_pause,
                   Feature::stop,         Feature::next,          Feature::previous,
                   Feature::skip_forward, Feature::skip_backward, Feature::volume_up,
                   Feature::volume_down,  Feature::channel_up,    Feature::channel_down,
                   Feature::screensaver,  Feature::set_position,  Feature::set_shuffle,
                   Feature::set_repeat});
    interfaces.player = any_supported(
        features, {Feature::push_updates, Feature::title, Feature::artist, Feature::album,
                   Feature::genre, Feature::total_time, Feature::position, Feature::shuffle,
                   Feature::repeat, Feature::series_name, Feature::season_number,
                   Feature::episode_number, Feature::content_identifier,
                   Feature::itunes_store_identifier, Feature::artwork, Feature::app});
    interfaces.audio = any_supported(features, {Feature::volume, Feature::set_volume});
    interfaces.power =
        any_supported(features, {Feature::power_state, Feature::turn_on, Feature::turn_off});
    interfaces.apps = any_supported(features, {Feature::app_list, Feature::launch_app,
                                               Feature::account_list, Feature::switch_account});
    interfaces.keyboard =
        any_supported(features, {Feature::text_focus_state, Feature::text_get, Feature::text_set,
                                 Feature::text_append, Feature::text_clear});
    return interfaces;
}

bool position_jumped(const atv::NowPlaying& before, const atv::NowPlaying& after) {
    const double expected = extrapolated_us(before, after.position_timestamp);
    const double actual = static_cast<double>(after.position.count());
    return std::abs(actual - expected) > static_cast<double>(position_tolerance.count());
}

PlayerUpdate player_update(const atv::NowPlaying& shown, const atv::NowPlaying& reported) {
    PlayerUpdate update{reported, {}};
    const bool position_signalled = shown.rate != reported.rate || position_jumped(shown, reported);
    if (!position_signalled) {
        update.shown.position = shown.position;
        update.shown.position_timestamp = shown.position_timestamp;
    }
    const atv::NowPlaying& after = update.shown;
    auto note = [&](const char* name, const auto& old_value, const auto& new_value) {
        if (!(old_value == new_value)) {
            update.changed.emplace_back(name);
        }
    };
    note("State", shown.state, after.state);
    note("MediaType", shown.media_type, after.media_type);
    note("Title", shown.title, after.title);
    note("Artist", shown.artist, after.artist);
    note("Album", shown.album, after.album);
    note("Genre", shown.genre, after.genre);
    note("SeriesName", shown.series_name, after.series_name);
    note("SeasonNumber", shown.season_number, after.season_number);
    note("EpisodeNumber", shown.episode_number, after.episode_number);
    note("Duration", shown.duration, after.duration);
    note("Position", shown.position, after.position);
    note("PositionTimestamp", shown.position_timestamp, after.position_timestamp);
    note("Rate", shown.rate, after.rate);
    note("Shuffle", shown.shuffle, after.shuffle);
    note("Repeat", shown.repeat, after.repeat);
    note("ContentIdentifier", shown.content_identifier, after.content_identifier);
    note("ITunesStoreIdentifier", shown.itunes_store_identifier, after.itunes_store_identifier);
    note("App", shown.app, after.app);
    note("AppIdentifier", shown.app_identifier, after.app_identifier);
    note("ArtworkIdentifier", shown.artwork_identifier, after.artwork_identifier);
    return update;
}

std::uint64_t epoch_microseconds(std::chrono::system_clock::time_point at) {
    const auto since = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch());
    return since.count() > 0 ? static_cast<std::uint64_t>(since.count()) : 0;
}

std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t length = utf8_sequence(text, at);
        if (length == 0) {
            out += "\xEF\xBF\xBD";
            ++at;
        } else {
            out.append(text, at, length);
            at += length;
        }
    }
    return out;
}

}  // namespace atvd
