#include "player_state.hpp"

#include <algorithm>
#include <array>
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

std::string_view to_string(PlayerProperty property) {
    static constexpr std::array<std::string_view, player_property_count> names = {
        "State",
        "MediaType",
        "Title",
        "Artist",
        "Album",
        "Genre",
        "SeriesName",
        "SeasonNumber",
        "EpisodeNumber",
        "Duration",
        "Position",
        "PositionTimestamp",
        "Rate",
        "Shuffle",
        "Repeat",
        "ContentIdentifier",
        "ITunesStoreIdentifier",
        "App",
        "AppIdentifier",
        "ArtworkIdentifier",
    };
    return names.at(static_cast<std::size_t>(property));
}

std::vector<std::string> PlayerChanges::names() const {
    std::vector<std::string> names;
    for_each([&names](PlayerProperty property) { names.emplace_back(to_string(property)); });
    return names;
}

PlayerChanges apply_player_update(atv::NowPlaying& shown, const atv::NowPlaying& reported) {
    PlayerChanges changes;
    // Decided on the values before any of them changes.
    const bool position_signalled = shown.rate != reported.rate || position_jumped(shown, reported);
    const auto take = [&changes](PlayerProperty property, auto& value, const auto& reported_value) {
        if (!(value == reported_value)) {
            value = reported_value;
            changes.add(property);
        }
    };
    take(PlayerProperty::state, shown.state, reported.state);
    take(PlayerProperty::media_type, shown.media_type, reported.media_type);
    take(PlayerProperty::title, shown.title, reported.title);
    take(PlayerProperty::artist, shown.artist, reported.artist);
    take(PlayerProperty::album, shown.album, reported.album);
    take(PlayerProperty::genre, shown.genre, reported.genre);
    take(PlayerProperty::series_name, shown.series_name, reported.series_name);
    take(PlayerProperty::season_number, shown.season_number, reported.season_number);
    take(PlayerProperty::episode_number, shown.episode_number, reported.episode_number);
    take(PlayerProperty::duration, shown.duration, reported.duration);
    if (position_signalled) {
        take(PlayerProperty::position, shown.position, reported.position);
        take(PlayerProperty::position_timestamp, shown.position_timestamp,
             reported.position_timestamp);
    }
    take(PlayerProperty::rate, shown.rate, reported.rate);
    take(PlayerProperty::shuffle, shown.shuffle, reported.shuffle);
    take(PlayerProperty::repeat, shown.repeat, reported.repeat);
    take(PlayerProperty::content_identifier, shown.content_identifier, reported.content_identifier);
    take(PlayerProperty::itunes_store_identifier, shown.itunes_store_identifier,
         reported.itunes_store_identifier);
    take(PlayerProperty::app, shown.app, reported.app);
    take(PlayerProperty::app_identifier, shown.app_identifier, reported.app_identifier);
    take(PlayerProperty::artwork_identifier, shown.artwork_identifier, reported.artwork_identifier);
    return changes;
}

PlayerUpdate player_update(const atv::NowPlaying& shown, const atv::NowPlaying& reported) {
    PlayerUpdate update{shown, {}};
    update.changed = apply_player_update(update.shown, reported).names();
    return update;
}

std::uint64_t epoch_microseconds(std::chrono::system_clock::time_point at) {
    const auto since = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch());
    return since.count() > 0 ? static_cast<std::uint64_t>(since.count()) : 0;
}

bool is_valid_utf8(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        if (static_cast<unsigned char>(text[at]) < 0x80) {
            ++at;
            continue;
        }
        const std::size_t length = utf8_sequence(text, at);
        if (length == 0) {
            return false;
        }
        at += length;
    }
    return true;
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
