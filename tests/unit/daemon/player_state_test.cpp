// How a connection's control state is shown on the bus (daemon/player_state.hpp): the feature
// table, which interfaces it calls for, and which Player1 properties a device update changes,
// with the rule that a position is signalled only when it jumps or the rate changes.
#include "player_state.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Names = std::vector<std::string>;
using atv::Feature;
using atv::FeatureState;

const std::chrono::system_clock::time_point noon{std::chrono::hours(24 * 20000 + 12)};

atv::NowPlaying playing_song() {
    atv::NowPlaying playing;
    playing.state = atv::PlaybackState::playing;
    playing.media_type = atv::MediaType::music;
    playing.title = "Song";
    playing.artist = "Band";
    playing.duration = 300s;
    playing.position = 10s;
    playing.position_timestamp = noon;
    playing.rate = 1.0;
    playing.app = "Music";
    playing.app_identifier = "com.apple.TVMusic";
    return playing;
}

TEST(FeatureTable, ListsEveryFeatureByPyatvName) {
    const auto table = atvd::feature_table({{Feature::play_pause, FeatureState::available},
                                            {Feature::title, FeatureState::unavailable},
                                            {Feature::volume, FeatureState::unknown}});
    EXPECT_EQ(table.size(), atv::feature_count);
    EXPECT_EQ(table.at("PlayPause"), "available");
    EXPECT_EQ(table.at("Title"), "unavailable");
    EXPECT_EQ(table.at("Volume"), "unknown");
    EXPECT_EQ(table.at("Up"), "unsupported");
    EXPECT_EQ(table.at("iTunesStoreIdentifier"), "unsupported");
}

TEST(ControlInterfaces, NoneWhenEverythingIsUnsupported) {
    EXPECT_EQ(atvd::control_interfaces({}), atvd::ControlInterfaces{});
    EXPECT_EQ(atvd::control_interfaces({{Feature::up, FeatureState::unsupported},
                                        {Feature::turn_on, FeatureState::unsupported},
                                        {Feature::app_list, FeatureState::unsupported},
                                        {Feature::text_set, FeatureState::unsupported},
                                        {Feature::play_url, FeatureState::available}}),
              atvd::ControlInterfaces{});
}

// Power1, Apps1 and Keyboard1: each with any of its features, and with nothing else.
TEST(ControlInterfaces, PowerAppsAndKeyboardComeWithAnyOfTheirParts) {
    const auto only = [](Feature feature, FeatureState state) {
        return atvd::control_interfaces({{feature, state}});
    };
    atvd::ControlInterfaces power;
    power.power = true;
    atvd::ControlInterfaces apps;
    apps.apps = true;
    atvd::ControlInterfaces keyboard;
    keyboard.keyboard = true;
    for (const Feature feature : {Feature::power_state, Feature::turn_on, Feature::turn_off}) {
        EXPECT_EQ(only(feature, FeatureState::unavailable), power) << atv::to_string(feature);
    }
    for (const Feature feature :
         {Feature::app_list, Feature::launch_app, Feature::account_list, Feature::switch_account}) {
        EXPECT_EQ(only(feature, FeatureState::unknown), apps) << atv::to_string(feature);
    }
    for (const Feature feature : {Feature::text_focus_state, Feature::text_get, Feature::text_set,
                                  Feature::text_append, Feature::text_clear}) {
        EXPECT_EQ(only(feature, FeatureState::available), keyboard) << atv::to_string(feature);
    }
    // A connection that can only play and take keys (MRP alone) has none of the three.
    const auto mrp = atvd::control_interfaces({{Feature::select, FeatureState::available},
                                               {Feature::title, FeatureState::available},
                                               {Feature::volume, FeatureState::available}});
    EXPECT_FALSE(mrp.power || mrp.apps || mrp.keyboard);
    EXPECT_TRUE(mrp.remote_control && mrp.player && mrp.audio);
}

TEST(ControlInterfaces, EachComesWithAnyOfItsParts) {
    const auto only = [](Feature feature, FeatureState state) {
        return atvd::control_interfaces({{feature, state}});
    };
    EXPECT_EQ(only(Feature::select, FeatureState::unavailable),
              (atvd::ControlInterfaces{true, false, false}));
    EXPECT_EQ(only(Feature::set_repeat, FeatureState::unknown),
              (atvd::ControlInterfaces{true, false, false}));
    EXPECT_EQ(only(Feature::push_updates, FeatureState::available),
              (atvd::ControlInterfaces{false, true, false}));
    EXPECT_EQ(only(Feature::title, FeatureState::unavailable),
              (atvd::ControlInterfaces{false, true, false}));
    EXPECT_EQ(only(Feature::volume, FeatureState::available),
              (atvd::ControlInterfaces{false, false, true}));
    EXPECT_EQ(only(Feature::set_volume, FeatureState::unavailable),
              (atvd::ControlInterfaces{false, false, true}));
}

TEST(PositionJump, ExtrapolatesAtTheRate) {
    const atv::NowPlaying before = playing_song();
    atv::NowPlaying after = before;
    after.position_timestamp = noon + 30s;
    after.position = 40s;
    EXPECT_FALSE(atvd::position_jumped(before, after));
    after.position = 40s + 900ms;
    EXPECT_FALSE(atvd::position_jumped(before, after));
    after.position = 41s + 100ms;
    EXPECT_TRUE(atvd::position_jumped(before, after));
    after.position = 10s;  // seeked back
    EXPECT_TRUE(atvd::position_jumped(before, after));

    atv::NowPlaying paused = before;
    paused.rate = 0;
    atv::NowPlaying later = paused;
    later.position_timestamp = noon + 60s;
    EXPECT_FALSE(atvd::position_jumped(paused, later));
    atv::NowPlaying fast = before;
    fast.rate = 2.0;
    atv::NowPlaying fast_later = fast;
    fast_later.position_timestamp = noon + 10s;
    fast_later.position = 30s;
    EXPECT_FALSE(atvd::position_jumped(fast, fast_later));
}

TEST(PlayerUpdate, NothingChangedNothingSignalled) {
    const auto update = atvd::player_update(playing_song(), playing_song());
    EXPECT_TRUE(update.changed.empty());
    EXPECT_EQ(update.shown, playing_song());
}

TEST(PlayerUpdate, NamesExactlyWhatChanged) {
    atv::NowPlaying next = playing_song();
    next.title = "Other Song";
    next.artwork_identifier = "art-2";
    next.shuffle = atv::ShuffleMode::songs;
    EXPECT_EQ(atvd::player_update(playing_song(), next).changed,
              (Names{"Title", "Shuffle", "ArtworkIdentifier"}));

    atv::NowPlaying episode = playing_song();
    episode.media_type = atv::MediaType::tv;
    episode.series_name = "Series";
    episode.season_number = 2;
    episode.episode_number = 5;
    episode.duration = 1800s;
    episode.app = "TV";
    episode.app_identifier = "com.apple.TVWatchList";
    episode.content_identifier = "c1";
    episode.itunes_store_identifier = "1234";
    episode.genre = "Drama";
    episode.album = "Album";
    episode.artist = "";
    episode.repeat = atv::RepeatMode::all;
    episode.state = atv::PlaybackState::paused;
    EXPECT_EQ(atvd::player_update(playing_song(), episode).changed,
              (Names{"State", "MediaType", "Artist", "Album", "Genre", "SeriesName", "SeasonNumber",
                     "EpisodeNumber", "Duration", "Repeat", "ContentIdentifier",
                     "ITunesStoreIdentifier", "App", "AppIdentifier"}));
}

TEST(PlayerUpdate, APositionThatRunsOnIsNotSignalled) {
    atv::NowPlaying later = playing_song();
    later.position = 25s;
    later.position_timestamp = noon + 15s;
    later.title = "Renamed";
    const auto update = atvd::player_update(playing_song(), later);
    EXPECT_EQ(update.changed, Names{"Title"});
    // What is shown keeps the old position and timestamp, which extrapolate to the same place.
    EXPECT_EQ(update.shown.position, 10s);
    EXPECT_EQ(update.shown.position_timestamp, noon);
    EXPECT_EQ(update.shown.title, "Renamed");
}

TEST(PlayerUpdate, AJumpOrANewRateSignalsThePosition) {
    atv::NowPlaying seeked = playing_song();
    seeked.position = 200s;
    seeked.position_timestamp = noon + 1s;
    auto update = atvd::player_update(playing_song(), seeked);
    EXPECT_EQ(update.changed, (Names{"Position", "PositionTimestamp"}));
    EXPECT_EQ(update.shown, seeked);

    atv::NowPlaying paused = playing_song();
    paused.state = atv::PlaybackState::paused;
    paused.rate = 0;
    paused.position = 12s;
    paused.position_timestamp = noon + 2s;
    update = atvd::player_update(playing_song(), paused);
    EXPECT_EQ(update.changed, (Names{"State", "Position", "PositionTimestamp", "Rate"}));
    EXPECT_EQ(update.shown, paused);
}

// In place: the shown state becomes the update's, and the set names what changed, in the
// order of the interface, through each property's bus name.
TEST(PlayerUpdate, AppliedInPlaceReturnsTheChangedSet) {
    atv::NowPlaying shown = playing_song();
    atv::NowPlaying next = playing_song();
    next.title = "A title long enough to live on the heap";
    next.rate = 2.0;
    next.position = 20s;
    next.position_timestamp = noon + 5s;
    next.artwork_identifier = "art";
    const atvd::PlayerChanges changed = atvd::apply_player_update(shown, next);
    EXPECT_EQ(shown, next);
    EXPECT_EQ(changed.names(),
              (Names{"Title", "Position", "PositionTimestamp", "Rate", "ArtworkIdentifier"}));
    EXPECT_TRUE(changed.contains(atvd::PlayerProperty::rate));
    EXPECT_FALSE(changed.contains(atvd::PlayerProperty::state));
    EXPECT_TRUE(atvd::apply_player_update(shown, next).empty());

    atvd::PlayerChanges pending;
    EXPECT_TRUE(pending.empty());
    pending |= changed;
    pending.add(atvd::PlayerProperty::state);
    EXPECT_EQ(pending.names().front(), "State");
    EXPECT_EQ(pending.names().size(), 6U);
    pending.clear();
    EXPECT_TRUE(pending.empty());
}

TEST(PlayerProperty, EveryOneHasItsBusName) {
    EXPECT_EQ(atvd::to_string(atvd::PlayerProperty::state), "State");
    EXPECT_EQ(atvd::to_string(atvd::PlayerProperty::itunes_store_identifier),
              "ITunesStoreIdentifier");
    EXPECT_EQ(atvd::to_string(atvd::PlayerProperty::artwork_identifier), "ArtworkIdentifier");
    atvd::PlayerChanges all;
    for (std::size_t index = 0; index < atvd::player_property_count; ++index) {
        all.add(static_cast<atvd::PlayerProperty>(index));
    }
    const Names names = all.names();
    EXPECT_EQ(names.size(), atvd::player_property_count);
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(),
              atvd::player_property_count);
}

TEST(ValidUtf8, TellsWhetherTextIsValidAlready) {
    EXPECT_TRUE(atvd::is_valid_utf8("Café – 東京 🎵"));
    EXPECT_TRUE(atvd::is_valid_utf8(""));
    EXPECT_FALSE(atvd::is_valid_utf8("a\xff"));
    EXPECT_FALSE(atvd::is_valid_utf8("\xC0\xAF"));
    EXPECT_FALSE(atvd::is_valid_utf8("\xED\xA0\x80"));
}

TEST(EpochMicroseconds, ZeroForTheEpochAndBefore) {
    EXPECT_EQ(atvd::epoch_microseconds({}), 0U);
    EXPECT_EQ(atvd::epoch_microseconds(std::chrono::system_clock::time_point{-5s}), 0U);
    EXPECT_EQ(atvd::epoch_microseconds(std::chrono::system_clock::time_point{3s}), 3'000'000U);
}

TEST(ValidUtf8, KeepsValidTextAndReplacesInvalidBytes) {
    EXPECT_EQ(atvd::valid_utf8("Café – 東京 🎵"), "Café – 東京 🎵");
    EXPECT_EQ(atvd::valid_utf8("a\xff"
                               "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(atvd::valid_utf8("\xC3"), "\xEF\xBF\xBD");                  // cut short
    EXPECT_EQ(atvd::valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
    EXPECT_EQ(atvd::valid_utf8("\xED\xA0\x80"),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");            // surrogate
    EXPECT_EQ(atvd::valid_utf8("\xF4\x90\x80\x80").size(), 12U);  // beyond U+10FFFF
    EXPECT_EQ(atvd::valid_utf8(""), "");
}

}  // namespace
