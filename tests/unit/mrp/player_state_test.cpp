// PlayerState: each message kind, the merge rules, and what a hostile device cannot do.
#include "mrp/player_state.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace atv::mrp {
namespace {

namespace pb = proto;

constexpr const char* music = "com.apple.TVMusic";
constexpr const char* default_player = "MediaRemote-DefaultPlayer";

pb::PlayerPath path(const std::string& bundle, const std::string& player = default_player) {
    pb::PlayerPath result;
    result.mutable_client()->set_bundleidentifier(bundle);
    result.mutable_player()->set_identifier(player);
    return result;
}

ProtocolMessage now_playing_client(const std::string& bundle, const std::string& name = "Music") {
    ProtocolMessage message = make_message(ProtocolMessage::SET_NOW_PLAYING_CLIENT_MESSAGE);
    auto* client = message.MutableExtension(pb::setNowPlayingClientMessage)->mutable_client();
    client->set_bundleidentifier(bundle);
    client->set_displayname(name);
    return message;
}

ProtocolMessage now_playing_player(const pb::PlayerPath& player) {
    ProtocolMessage message = make_message(ProtocolMessage::SET_NOW_PLAYING_PLAYER_MESSAGE);
    *message.MutableExtension(pb::setNowPlayingPlayerMessage)->mutable_playerpath() = player;
    return message;
}

pb::ContentItem song(const std::string& identifier, const std::string& title) {
    pb::ContentItem item;
    item.set_identifier(identifier);
    auto* metadata = item.mutable_metadata();
    metadata->set_title(title);
    metadata->set_trackartistname("Artist");
    metadata->set_albumname("Album");
    metadata->set_genre("Genre");
    metadata->set_duration(300);
    metadata->set_elapsedtime(10);
    metadata->set_elapsedtimetimestamp(700000000.0);
    metadata->set_playbackrate(1.0F);
    metadata->set_mediatype(pb::ContentItemMetadata::Audio);
    return item;
}

ProtocolMessage set_state(const pb::PlayerPath& player, std::optional<pb::ContentItem> item,
                          pb::PlaybackState::Enum state = pb::PlaybackState::Playing) {
    ProtocolMessage message = make_message(ProtocolMessage::SET_STATE_MESSAGE);
    auto* inner = message.MutableExtension(pb::setStateMessage);
    inner->set_playbackstate(state);
    *inner->mutable_playerpath() = player;
    if (item) {
        inner->mutable_playbackqueue()->set_location(0);
        *inner->mutable_playbackqueue()->add_contentitems() = *item;
    }
    return message;
}

ProtocolMessage supported(const pb::PlayerPath& player, std::initializer_list<Command> commands) {
    ProtocolMessage message = make_message(ProtocolMessage::SET_STATE_MESSAGE);
    auto* inner = message.MutableExtension(pb::setStateMessage);
    *inner->mutable_playerpath() = player;
    auto* list = inner->mutable_supportedcommands();
    for (Command command : commands) {
        auto* info = list->add_supportedcommands();
        info->set_command(command);
        info->set_enabled(true);
    }
    return message;
}

ProtocolMessage content_update(const pb::PlayerPath& player, const pb::ContentItem& item) {
    ProtocolMessage message = make_message(ProtocolMessage::UPDATE_CONTENT_ITEM_MESSAGE);
    auto* inner = message.MutableExtension(pb::updateContentItemMessage);
    *inner->add_contentitems() = item;
    *inner->mutable_playerpath() = player;
    return message;
}

ProtocolMessage volume_capabilities(bool available, const std::string& uid) {
    ProtocolMessage message =
        make_message(ProtocolMessage::VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE);
    auto* inner = message.MutableExtension(pb::volumeControlCapabilitiesDidChangeMessage);
    inner->mutable_capabilities()->set_volumecontrolavailable(available);
    inner->set_outputdeviceuid(uid);
    return message;
}

ProtocolMessage volume_changed(float level, const std::string& uid) {
    ProtocolMessage message = make_message(ProtocolMessage::VOLUME_DID_CHANGE_MESSAGE);
    auto* inner = message.MutableExtension(pb::volumeDidChangeMessage);
    inner->set_volume(level);
    inner->set_outputdeviceuid(uid);
    return message;
}

// A state with Music active and playing "Song".
PlayerState playing_music() {
    PlayerState state;
    state.handle(now_playing_client(music));
    state.handle(now_playing_player(path(music)));
    state.handle(set_state(path(music), song("item-1", "Song")));
    return state;
}

TEST(PlayerState, NothingActiveIsIdleWithOnlyTheRemoteKeys) {
    PlayerState state;
    EXPECT_EQ(state.now_playing(), NowPlaying{});
    const FeatureMap& features = state.features();
    EXPECT_EQ(features.at(Feature::select), FeatureState::available);
    EXPECT_EQ(features.at(Feature::home_hold), FeatureState::available);
    EXPECT_EQ(features.at(Feature::push_updates), FeatureState::available);
    EXPECT_EQ(features.at(Feature::title), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::play), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::app), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::volume), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::launch_app), FeatureState::unsupported);
    EXPECT_EQ(features.size(), feature_count);
    EXPECT_FALSE(state.volume().has_value());
}

TEST(PlayerState, SetStateOfTheActivePlayerShowsItsItem) {
    PlayerState state;
    auto changes = state.handle(now_playing_client(music, "Music"));
    EXPECT_TRUE(changes.now_playing);  // the app shows
    EXPECT_EQ(state.now_playing().app, "Music");
    EXPECT_EQ(state.now_playing().app_identifier, music);
    EXPECT_EQ(state.features().at(Feature::app), FeatureState::available);
    state.handle(now_playing_player(path(music)));
    changes = state.handle(set_state(path(music), song("item-1", "Song")));
    EXPECT_TRUE(changes.now_playing);
    EXPECT_TRUE(changes.features);
    const NowPlaying& playing = state.now_playing();
    EXPECT_EQ(playing.state, PlaybackState::playing);
    EXPECT_EQ(playing.media_type, MediaType::music);
    EXPECT_EQ(playing.title, "Song");
    EXPECT_EQ(playing.artist, "Artist");
    EXPECT_EQ(playing.album, "Album");
    EXPECT_EQ(playing.genre, "Genre");
    EXPECT_EQ(playing.duration, std::chrono::seconds(300));
    EXPECT_EQ(playing.position, std::chrono::seconds(10));
    EXPECT_EQ(playing.position_timestamp, from_cocoa_time(700000000.0));
    EXPECT_DOUBLE_EQ(playing.rate, 1.0);
    EXPECT_EQ(state.item_identifier(), "item-1");
    EXPECT_EQ(state.features().at(Feature::title), FeatureState::available);
    EXPECT_EQ(state.features().at(Feature::position), FeatureState::available);
    EXPECT_EQ(state.features().at(Feature::series_name), FeatureState::unavailable);
}

TEST(PlayerState, CocoaTimeCountsFrom2001) {
    using std::chrono::seconds;
    EXPECT_EQ(from_cocoa_time(0).time_since_epoch(), seconds(978307200));
    EXPECT_EQ(from_cocoa_time(1.5).time_since_epoch(), std::chrono::milliseconds(978307201500));
}

TEST(PlayerState, TheSameMessageTwiceChangesNothingTheSecondTime) {
    PlayerState state = playing_music();
    const auto again = state.handle(set_state(path(music), song("item-1", "Song")));
    EXPECT_FALSE(again.any());
}

TEST(PlayerState, UnrelatedMessagesChangeNothing) {
    PlayerState state = playing_music();
    EXPECT_FALSE(state.handle(heartbeat()).any());
    EXPECT_FALSE(state.handle(make_message(ProtocolMessage::KEYBOARD_MESSAGE)).any());
}

TEST(PlayerState, OtherPlayersAreKeptButNotShownUntilActive) {
    PlayerState state = playing_music();
    const pb::PlayerPath other = path(music, "other-player");
    EXPECT_FALSE(state.handle(set_state(other, song("item-2", "Other"))).any());
    EXPECT_EQ(state.now_playing().title, "Song");
    EXPECT_FALSE(state.handle(set_state(path("com.other.app"), song("x", "Elsewhere"))).any());
    const auto changes = state.handle(now_playing_player(other));
    EXPECT_TRUE(changes.now_playing);
    EXPECT_EQ(state.now_playing().title, "Other");
    EXPECT_EQ(state.player_count(), 3U);
}

TEST(PlayerState, TheDefaultPlayerShowsWithoutANowPlayingPlayer) {
    PlayerState state;
    state.handle(now_playing_client(music));
    state.handle(set_state(path(music), song("item-1", "Song")));
    EXPECT_EQ(state.now_playing().title, "Song");
}

TEST(PlayerState, ContentItemUpdatesMergeIntoTheCurrentItem) {
    PlayerState state = playing_music();
    pb::ContentItem update;
    update.set_identifier("item-1");
    update.mutable_metadata()->set_title("Renamed");
    update.mutable_metadata()->set_seriesname("Series");
    update.mutable_metadata()->set_seasonnumber(2);
    update.mutable_metadata()->set_episodenumber(5);
    const auto changes = state.handle(content_update(path(music), update));
    EXPECT_TRUE(changes.now_playing);
    EXPECT_TRUE(changes.features);
    EXPECT_EQ(state.now_playing().title, "Renamed");
    EXPECT_EQ(state.now_playing().artist, "Artist");  // kept
    EXPECT_EQ(state.now_playing().series_name, "Series");
    EXPECT_EQ(state.now_playing().season_number, 2U);
    EXPECT_EQ(state.now_playing().episode_number, 5U);
    EXPECT_EQ(state.features().at(Feature::season_number), FeatureState::available);

    update.set_identifier("item-unknown");
    update.mutable_metadata()->set_title("Ignored");
    EXPECT_FALSE(state.handle(content_update(path(music), update)).any());
    EXPECT_EQ(state.now_playing().title, "Renamed");
}

TEST(PlayerState, PlaybackStateFollowsTheRate) {
    PlayerState state = playing_music();
    pb::ContentItem item = song("item-1", "Song");
    item.mutable_metadata()->set_playbackrate(0.0F);
    state.handle(set_state(path(music), item));
    EXPECT_EQ(state.now_playing().state, PlaybackState::paused);
    EXPECT_DOUBLE_EQ(state.now_playing().rate, 0.0);
    item.mutable_metadata()->set_playbackrate(2.0F);
    state.handle(set_state(path(music), item));
    EXPECT_EQ(state.now_playing().state, PlaybackState::seeking);
    state.handle(set_state(path(music), item, pb::PlaybackState::Paused));
    EXPECT_EQ(state.now_playing().state, PlaybackState::paused);
    state.handle(set_state(path(music), std::nullopt, pb::PlaybackState::Interrupted));
    EXPECT_EQ(state.now_playing().state, PlaybackState::loading);
    state.handle(set_state(path(music), std::nullopt, pb::PlaybackState::Stopped));
    EXPECT_EQ(state.now_playing().state, PlaybackState::stopped);
}

TEST(PlayerState, PausedWithoutAnItemIsIdle) {
    PlayerState state;
    state.handle(now_playing_client(music));
    ProtocolMessage message = set_state(path(music), std::nullopt, pb::PlaybackState::Paused);
    message.MutableExtension(pb::setStateMessage)->mutable_playbackqueue()->set_location(0);
    state.handle(message);
    EXPECT_EQ(state.now_playing().state, PlaybackState::idle);
}

TEST(PlayerState, AQueueLocationPastItsItemsShowsNoItem) {
    PlayerState state = playing_music();
    ProtocolMessage message = set_state(path(music), song("item-9", "Nine"));
    message.MutableExtension(pb::setStateMessage)->mutable_playbackqueue()->set_location(5);
    state.handle(message);
    EXPECT_EQ(state.now_playing().title, "");
    EXPECT_EQ(state.location(), 5);
    message.MutableExtension(pb::setStateMessage)->mutable_playbackqueue()->set_location(-1);
    state.handle(message);
    EXPECT_EQ(state.now_playing().title, "");
}

TEST(PlayerState, RemovingThePlayerOrClientEndsWhatShows) {
    PlayerState state = playing_music();
    ProtocolMessage remove_player = make_message(ProtocolMessage::REMOVE_PLAYER_MESSAGE);
    *remove_player.MutableExtension(pb::removePlayerMessage)->mutable_playerpath() = path(music);
    EXPECT_TRUE(state.handle(remove_player).now_playing);
    EXPECT_EQ(state.now_playing().title, "");
    EXPECT_EQ(state.now_playing().app, "Music");  // the client stays

    ProtocolMessage remove_client = make_message(ProtocolMessage::REMOVE_CLIENT_MESSAGE);
    remove_client.MutableExtension(pb::removeClientMessage)
        ->mutable_client()
        ->set_bundleidentifier(music);
    EXPECT_TRUE(state.handle(remove_client).now_playing);
    EXPECT_EQ(state.now_playing(), NowPlaying{});
    EXPECT_EQ(state.client_count(), 0U);
    EXPECT_EQ(state.features().at(Feature::app), FeatureState::unavailable);
}

// What shows is rebuilt in place on every message: each field must go back to its default
// when nothing sets it any more, after a state that set every one of them.
TEST(PlayerState, EveryFieldReturnsToItsDefaultWhenTheClientGoes) {
    PlayerState state = playing_music();
    ProtocolMessage commands =
        supported(path(music), {pb::Command::ChangeShuffleMode, pb::Command::ChangeRepeatMode});
    auto* list = commands.MutableExtension(pb::setStateMessage)->mutable_supportedcommands();
    list->mutable_supportedcommands(0)->set_shufflemode(pb::ShuffleMode::Songs);
    list->mutable_supportedcommands(1)->set_repeatmode(pb::RepeatMode::All);
    state.handle(commands);
    pb::ContentItem item = song("item-1", "A title long enough to be kept on the heap");
    auto* metadata = item.mutable_metadata();
    metadata->set_seriesname("Series");
    metadata->set_seasonnumber(2);
    metadata->set_episodenumber(7);
    metadata->set_contentidentifier("content-1");
    metadata->set_itunesstoreidentifier(123456789);
    metadata->set_artworkavailable(true);
    metadata->set_artworkidentifier("art-1");
    state.handle(set_state(path(music), item));
    const NowPlaying& full = state.now_playing();
    EXPECT_EQ(full.series_name, "Series");
    EXPECT_EQ(full.season_number, 2U);
    EXPECT_EQ(full.episode_number, 7U);
    EXPECT_EQ(full.itunes_store_identifier, "123456789");
    EXPECT_EQ(full.artwork_identifier, "art-1");
    EXPECT_EQ(full.shuffle, ShuffleMode::songs);
    EXPECT_EQ(full.repeat, RepeatMode::all);
    EXPECT_EQ(full.media_type, MediaType::music);
    EXPECT_NE(full.position_timestamp.time_since_epoch().count(), 0);

    ProtocolMessage remove_client = make_message(ProtocolMessage::REMOVE_CLIENT_MESSAGE);
    remove_client.MutableExtension(pb::removeClientMessage)
        ->mutable_client()
        ->set_bundleidentifier(music);
    EXPECT_TRUE(state.handle(remove_client).now_playing);
    EXPECT_EQ(state.now_playing(), NowPlaying{});
    // And back: the same state shows the same again.
    state.handle(now_playing_client(music));
    state.handle(now_playing_player(path(music)));
    state.handle(commands);
    state.handle(set_state(path(music), item));
    EXPECT_EQ(state.now_playing().title, "A title long enough to be kept on the heap");
    EXPECT_EQ(state.now_playing().artwork_identifier, "art-1");
}

// Identifiers are looked up as the device sends them when they are clean, and by their
// sanitized form otherwise: both ways find the same client and player.
TEST(PlayerState, UncleanIdentifiersFindTheirClientAndPlayer) {
    EXPECT_TRUE(PlayerState::is_clean("com.apple.TVMusic", 256));
    EXPECT_TRUE(PlayerState::is_clean("caf\xc3\xa9", 256));
    EXPECT_TRUE(PlayerState::is_clean("", 256));
    EXPECT_FALSE(PlayerState::is_clean("a\xff", 256));
    EXPECT_FALSE(PlayerState::is_clean("line\nbreak", 256));
    EXPECT_FALSE(PlayerState::is_clean("abcdef", 4));
    EXPECT_FALSE(PlayerState::is_clean(std::string("a\0b", 3), 10));

    const std::string bundle = "com.example.\xff\x01";
    const std::string player = "player\x7f\xfe";
    PlayerState state;
    state.handle(now_playing_client(bundle, "Odd"));
    state.handle(now_playing_player(path(bundle, player)));
    state.handle(set_state(path(bundle, player), song("item-\xff", "Song")));
    EXPECT_EQ(state.now_playing().app, "Odd");
    EXPECT_EQ(state.now_playing().app_identifier, PlayerState::sanitize(bundle, 256));
    EXPECT_EQ(state.now_playing().title, "Song");
    pb::ContentItem renamed = song("item-\xff", "Renamed");
    EXPECT_TRUE(state.handle(content_update(path(bundle, player), renamed)).now_playing);
    EXPECT_EQ(state.now_playing().title, "Renamed");
    EXPECT_EQ(state.client_count(), 1U);
    EXPECT_EQ(state.player_count(), 1U);
}

TEST(PlayerState, CommandFeaturesFollowTheActivePlayersSupportedCommands) {
    PlayerState state = playing_music();
    EXPECT_EQ(state.features().at(Feature::pause), FeatureState::unavailable);
    const auto changes = state.handle(supported(
        path(music), {pb::Command::Pause, pb::Command::Play, pb::Command::SkipForward,
                      pb::Command::SeekToPlaybackPosition, pb::Command::ChangeShuffleMode}));
    EXPECT_TRUE(changes.features);
    EXPECT_FALSE(changes.now_playing);
    const FeatureMap& features = state.features();
    EXPECT_EQ(features.at(Feature::pause), FeatureState::available);
    EXPECT_EQ(features.at(Feature::skip_forward), FeatureState::available);
    EXPECT_EQ(features.at(Feature::set_position), FeatureState::available);
    EXPECT_EQ(features.at(Feature::set_shuffle), FeatureState::available);
    EXPECT_EQ(features.at(Feature::shuffle), FeatureState::available);
    EXPECT_EQ(features.at(Feature::next), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::set_repeat), FeatureState::unavailable);
    // Playing with Pause offered: PlayPause is emulated.
    EXPECT_EQ(features.at(Feature::play_pause), FeatureState::available);
    EXPECT_TRUE(state.command(pb::Command::Pause).has_value());
    EXPECT_FALSE(state.command(pb::Command::Stop).has_value());

    // A disabled command is unavailable.
    ProtocolMessage disabled = supported(path(music), {pb::Command::Pause});
    disabled.MutableExtension(pb::setStateMessage)
        ->mutable_supportedcommands()
        ->mutable_supportedcommands(0)
        ->set_enabled(false);
    state.handle(disabled);
    EXPECT_EQ(state.features().at(Feature::pause), FeatureState::unavailable);
    EXPECT_EQ(state.features().at(Feature::play_pause), FeatureState::unavailable);
}

TEST(PlayerState, ShuffleAndRepeatComeFromTheirCommands) {
    PlayerState state = playing_music();
    ProtocolMessage message =
        supported(path(music), {pb::Command::ChangeShuffleMode, pb::Command::ChangeRepeatMode});
    auto* list = message.MutableExtension(pb::setStateMessage)->mutable_supportedcommands();
    list->mutable_supportedcommands(0)->set_shufflemode(pb::ShuffleMode::Albums);
    list->mutable_supportedcommands(1)->set_repeatmode(pb::RepeatMode::One);
    EXPECT_TRUE(state.handle(message).now_playing);
    EXPECT_EQ(state.now_playing().shuffle, ShuffleMode::albums);
    EXPECT_EQ(state.now_playing().repeat, RepeatMode::track);
}

TEST(PlayerState, ArtworkIdentifierAsPyatvChoosesIt) {
    PlayerState state = playing_music();
    EXPECT_EQ(state.now_playing().artwork_identifier, "");
    EXPECT_EQ(state.features().at(Feature::artwork), FeatureState::unavailable);
    pb::ContentItem item = song("item-1", "Song");
    item.mutable_metadata()->set_artworkavailable(true);
    state.handle(set_state(path(music), item));
    EXPECT_EQ(state.now_playing().artwork_identifier, "item-1");
    item.mutable_metadata()->set_contentidentifier("content-7");
    state.handle(set_state(path(music), item));
    EXPECT_EQ(state.now_playing().artwork_identifier, "content-7");
    item.mutable_metadata()->set_artworkidentifier("art-3");
    item.mutable_metadata()->set_artworkmimetype("image/png");
    state.handle(set_state(path(music), item));
    EXPECT_EQ(state.now_playing().artwork_identifier, "art-3");
    EXPECT_EQ(state.artwork_mime_type(), "image/png");
    EXPECT_EQ(state.features().at(Feature::artwork), FeatureState::available);
}

TEST(PlayerState, VolumeNeedsAvailabilityAndItsOutputDevice) {
    PlayerState state;
    EXPECT_FALSE(state.handle(volume_changed(0.3F, "")).volume);
    auto changes = state.handle(volume_capabilities(true, "device-uid"));
    EXPECT_TRUE(changes.volume);
    EXPECT_TRUE(changes.features);
    EXPECT_EQ(state.volume(), 0.0);
    EXPECT_EQ(state.features().at(Feature::set_volume), FeatureState::available);
    EXPECT_EQ(state.features().at(Feature::volume_up), FeatureState::available);
    EXPECT_TRUE(state.handle(volume_changed(0.42F, "device-uid")).volume);
    EXPECT_DOUBLE_EQ(*state.volume(), 42.0);
    // Another output device's volume is not this device's.
    EXPECT_FALSE(state.handle(volume_changed(0.9F, "speaker-uid")).volume);
    EXPECT_DOUBLE_EQ(*state.volume(), 42.0);
    // Out of range levels are dropped.
    EXPECT_FALSE(state.handle(volume_changed(7.0F, "device-uid")).volume);
    EXPECT_FALSE(
        state.handle(volume_changed(std::numeric_limits<float>::quiet_NaN(), "device-uid")).volume);
    ProtocolMessage off = make_message(ProtocolMessage::VOLUME_CONTROL_AVAILABILITY_MESSAGE);
    off.MutableExtension(pb::volumeControlAvailabilityMessage)->set_volumecontrolavailable(false);
    EXPECT_TRUE(state.handle(off).volume);
    EXPECT_FALSE(state.volume().has_value());
    EXPECT_EQ(state.features().at(Feature::volume), FeatureState::unavailable);
}

TEST(PlayerState, SanitizeRepairsAndBoundsText) {
    EXPECT_EQ(PlayerState::sanitize("plain", 100), "plain");
    EXPECT_EQ(PlayerState::sanitize("caf\xc3\xa9", 100), "caf\xc3\xa9");
    EXPECT_EQ(PlayerState::sanitize("a\xff"
                                    "b",
                                    100),
              "a\xef\xbf\xbd"
              "b");
    EXPECT_EQ(PlayerState::sanitize("\xc0\xaf", 100), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
    EXPECT_EQ(PlayerState::sanitize("\xed\xa0\x80", 100),
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
    EXPECT_EQ(PlayerState::sanitize("line\nbreak\x01", 100), "line break ");
    EXPECT_EQ(PlayerState::sanitize("abcdef", 4), "abcd");
    // Cut before a sequence that would not fit whole.
    EXPECT_EQ(PlayerState::sanitize("ab\xc3\xa9", 3), "ab");
    EXPECT_EQ(PlayerState::sanitize(std::string("a\0b", 3), 10), "a b");
}

TEST(PlayerState, AbsurdContentItemFieldsAreDroppedOrCut) {
    PlayerStateLimits limits;
    limits.max_string_bytes = 16;
    PlayerState state(limits);
    state.handle(now_playing_client(music));
    pb::ContentItem item = song("item-1", std::string(100000, 'x') + "\xff");
    auto* metadata = item.mutable_metadata();
    metadata->set_trackartistname("bad \xfe\xfe bytes");
    metadata->set_duration(std::numeric_limits<double>::infinity());
    metadata->set_elapsedtime(-5);
    metadata->set_elapsedtimetimestamp(std::numeric_limits<double>::quiet_NaN());
    metadata->set_playbackrate(1e9F);
    metadata->set_seasonnumber(-3);
    metadata->set_episodenumber(2000000000);
    state.handle(set_state(path(music), item));
    const NowPlaying& playing = state.now_playing();
    EXPECT_EQ(playing.title, std::string(16, 'x'));
    EXPECT_EQ(playing.artist, "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
    EXPECT_EQ(playing.duration.count(), 0);
    EXPECT_EQ(playing.position.count(), 0);
    EXPECT_EQ(playing.position_timestamp.time_since_epoch().count(), 0);
    EXPECT_EQ(playing.state, PlaybackState::playing);  // the absurd rate is dropped
    EXPECT_DOUBLE_EQ(playing.rate, 1.0);
    EXPECT_EQ(playing.season_number, 0U);
    EXPECT_EQ(playing.episode_number, 0U);
    EXPECT_EQ(state.features().at(Feature::total_time), FeatureState::unavailable);
    EXPECT_EQ(state.features().at(Feature::position), FeatureState::unavailable);
}

TEST(PlayerState, ClientsAndPlayersAreBounded) {
    PlayerStateLimits limits;
    limits.max_clients = 4;
    limits.max_players_per_client = 3;
    limits.max_commands = 5;
    PlayerState state(limits);
    state.handle(now_playing_client(music));
    state.handle(now_playing_player(path(music)));
    state.handle(set_state(path(music), song("item-1", "Song")));
    for (int index = 0; index < 1000; ++index) {
        state.handle(set_state(path("app." + std::to_string(index)), song("i", "t")));
        state.handle(set_state(path(music, "player-" + std::to_string(index)), song("i", "t")));
    }
    EXPECT_LE(state.client_count(), 4U);
    EXPECT_LE(state.player_count(), 4U * 3U);
    // The active client and player survive the churn.
    EXPECT_EQ(state.now_playing().title, "Song");

    ProtocolMessage many = make_message(ProtocolMessage::SET_STATE_MESSAGE);
    auto* inner = many.MutableExtension(pb::setStateMessage);
    *inner->mutable_playerpath() = path(music);
    for (int index = 0; index < 100; ++index) {
        auto* info = inner->mutable_supportedcommands()->add_supportedcommands();
        info->set_command(pb::Command::Stop);
        info->set_enabled(true);
    }
    auto* play = inner->mutable_supportedcommands()->add_supportedcommands();
    play->set_command(pb::Command::Play);
    play->set_enabled(true);
    state.handle(many);
    EXPECT_TRUE(state.command(pb::Command::Stop).has_value());
    EXPECT_FALSE(state.command(pb::Command::Play).has_value());  // past the limit
}

}  // namespace
}  // namespace atv::mrp
