// MrpControl against the fake Apple TV over real TCP on 127.0.0.1: keys, state pushed by the
// device, artwork, volume and features.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "atv/error.hpp"
#include "connection_steps.hpp"
#include "expect_error.hpp"
#include "fake_atv.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "mrp/connection.hpp"
#include "mrp/control.hpp"
#include "mrp/pairing.hpp"
#include "run_coroutine.hpp"

namespace atv::mrp {
namespace {

using namespace std::chrono_literals;
using fakes::expect_error;
using fakes::run;
using fakes::run_until;

class MrpControlLoopback : public ::testing::Test {
  protected:
    void SetUp() override {
        fakes::FakeAtvConfig config;
        config.pin = "1234";
        fake_ = std::make_unique<fakes::FakeAppleTv>(io_.get_executor(), config);
        fake_->start();
        auto handler =
            std::make_unique<MrpPairingHandler>(io_.get_executor(), "127.0.0.1", fake_->port(),
                                                hap::ClientIdentity::generate(), PairingOptions{});
        credentials_ = fakes::pair_with_pin(io_, *handler, "1234");
    }

    void TearDown() override {
        if (connection_) {
            // The listeners of a test capture its locals, which are gone by now.
            connection_->control()->set_events({});
            run(io_, connection_->close());
        }
        run(io_, fake_->stop());
    }

    // Connects and waits until the state the fake sends on subscription has arrived.
    Control& connect() {
        connection_ = run(io_, connect_mrp(io_.get_executor(), "127.0.0.1", fake_->port(),
                                           hap::HapCredentials::parse(credentials_), 1000ms,
                                           MrpConnectOptions{}));
        Control* control = connection_->control();
        EXPECT_NE(control, nullptr);
        run_until(io_, [&] { return control->volume().has_value(); });
        return *control;
    }

    fakes::FakeMedia& media() { return fake_->state().media(); }

    void play_song() {
        fakes::FakeItem song;
        song.title = "Song";
        song.artist = "Artist";
        song.album = "Album";
        song.duration = 300;
        song.position = 10;
        song.media_type = proto::ContentItemMetadata::Audio;
        media().play(song, "com.apple.TVMusic");
    }

    void press(Control& control, Key key, InputAction action = InputAction::single,
               std::optional<double> interval = std::nullopt) {
        run(io_, control.press(key, action, interval));
    }

    // The fake's log lines from `from` on.
    std::vector<std::string> log_since(std::size_t from) {
        const auto& log = media().log();
        return {log.begin() + static_cast<std::ptrdiff_t>(std::min(from, log.size())), log.end()};
    }

    // "HID 1 0x89 down t=123" without the time.
    static std::string without_time(const std::string& line) {
        return line.substr(0, line.find(" t="));
    }

    static std::int64_t time_of(const std::string& line) {
        return std::stoll(line.substr(line.find(" t=") + 3));
    }

    asio::io_context io_;
    std::unique_ptr<fakes::FakeAppleTv> fake_;
    std::string credentials_;
    std::unique_ptr<MrpConnection> connection_;
};

TEST_F(MrpControlLoopback, StateOfTheDeviceArrivesWithTheConnection) {
    play_song();
    Control& control = connect();
    run_until(io_, [&] { return control.now_playing().title == "Song"; });
    const NowPlaying& playing = control.now_playing();
    EXPECT_EQ(playing.title, "Song");
    EXPECT_EQ(playing.artist, "Artist");
    EXPECT_EQ(playing.album, "Album");
    EXPECT_EQ(playing.app, "Music");
    EXPECT_EQ(playing.app_identifier, "com.apple.TVMusic");
    EXPECT_EQ(playing.state, PlaybackState::playing);
    EXPECT_EQ(playing.media_type, MediaType::music);
    EXPECT_EQ(playing.duration, 300s);
    EXPECT_EQ(playing.position, 10s);
    EXPECT_DOUBLE_EQ(playing.rate, 1.0);
    // The position is where it was when the fake set it, at a time of this minute.
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - playing.position_timestamp), 60s);
    EXPECT_EQ(control.volume(), 50.0);
}

TEST_F(MrpControlLoopback, NavigationKeysArriveAsHidPressAndRelease) {
    play_song();
    Control& control = connect();
    const std::pair<Key, std::string> keys[] = {
        {Key::up, "1 0x8c"},           {Key::down, "1 0x8d"},      {Key::left, "1 0x8b"},
        {Key::right, "1 0x8a"},        {Key::select, "1 0x89"},    {Key::menu, "1 0x86"},
        {Key::home, "12 0x40"},        {Key::top_menu, "12 0x60"}, {Key::volume_up, "12 0xe9"},
        {Key::volume_down, "12 0xea"},
    };
    for (const auto& [key, code] : keys) {
        const std::size_t before = media().log().size();
        press(control, key);
        // The flush has been answered when press() returns: both events are there.
        const auto lines = log_since(before);
        ASSERT_EQ(lines.size(), 2U) << to_string(key);
        EXPECT_EQ(without_time(lines[0]), "HID " + code + " down");
        EXPECT_EQ(without_time(lines[1]), "HID " + code + " up");
    }
}

TEST_F(MrpControlLoopback, DoubleIsTwoPressesAndHoldKeepsTheKeyDownASecond) {
    Control& control = connect();
    std::size_t before = media().log().size();
    press(control, Key::select, InputAction::double_tap);
    auto lines = log_since(before);
    ASSERT_EQ(lines.size(), 4U);
    EXPECT_EQ(without_time(lines[0]), "HID 1 0x89 down");
    EXPECT_EQ(without_time(lines[1]), "HID 1 0x89 up");
    EXPECT_EQ(without_time(lines[2]), "HID 1 0x89 down");
    EXPECT_EQ(without_time(lines[3]), "HID 1 0x89 up");
    EXPECT_LT(time_of(lines[3]) - time_of(lines[0]), 500);

    before = media().log().size();
    press(control, Key::home, InputAction::hold);
    lines = log_since(before);
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_EQ(without_time(lines[0]), "HID 12 0x40 down");
    EXPECT_EQ(without_time(lines[1]), "HID 12 0x40 up");
    const auto held = time_of(lines[1]) - time_of(lines[0]);
    EXPECT_GE(held, 1000);
    EXPECT_LT(held, 1500);
}

TEST_F(MrpControlLoopback, PlaybackKeysArriveAsCommandsWithTheirOptions) {
    play_song();
    Control& control = connect();
    run_until(io_, [&] { return control.now_playing().title == "Song"; });
    const std::size_t before = media().log().size();
    press(control, Key::pause);
    press(control, Key::play);
    press(control, Key::play_pause);
    press(control, Key::next);
    press(control, Key::previous);
    press(control, Key::skip_forward, InputAction::single, 10.0);
    press(control, Key::skip_backward);  // the app's preferred interval
    press(control, Key::stop);
    run(io_, control.set_position(42s));
    run(io_, control.set_shuffle(ShuffleMode::songs));
    run(io_, control.set_repeat(RepeatMode::all));
    const std::vector<std::string> expected = {
        "COMMAND Pause",
        "COMMAND Play",
        "COMMAND TogglePlayPause",
        "COMMAND NextTrack",
        "COMMAND PreviousTrack",
        "COMMAND SkipForward interval=10",
        "COMMAND SkipBackward interval=15",
        "COMMAND Stop",
        "COMMAND SeekToPlaybackPosition position=42",
        "COMMAND ChangeShuffleMode shuffle=Songs",
        "COMMAND ChangeRepeatMode repeat=All",
    };
    EXPECT_EQ(log_since(before), expected);
    run_until(io_, [&] { return control.now_playing().repeat == RepeatMode::all; });
    EXPECT_EQ(control.now_playing().shuffle, ShuffleMode::songs);
    EXPECT_EQ(control.now_playing().repeat, RepeatMode::all);
}

TEST_F(MrpControlLoopback, ARefusedCommandIsAnErrorAndBadArgumentsAreRefusedEarly) {
    play_song();
    media().set_commands({proto::Command::Pause});
    Control& control = connect();
    auto error = expect_error([&] { press(control, Key::next); });
    EXPECT_EQ(error.kind(), ErrorKind::not_supported);
    EXPECT_TRUE(fakes::contains(error, "NextTrack"));
    EXPECT_EQ(media().log().back(), "REFUSED NextTrack NoCommandHandlers");

    const std::size_t before = media().log().size();
    error = expect_error([&] { press(control, Key::play, InputAction::double_tap); });
    EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
    error = expect_error([&] { press(control, Key::skip_forward, InputAction::single, -5.0); });
    EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
    error = expect_error([&] { run(io_, control.set_volume(101)); });
    EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
    error = expect_error([&] { press(control, Key::channel_up); });
    EXPECT_EQ(error.kind(), ErrorKind::not_supported);
    EXPECT_EQ(media().log().size(), before);  // nothing was sent
}

TEST_F(MrpControlLoopback, AChangeOnTheDeviceReachesTheListenerOnce) {
    play_song();
    Control& control = connect();
    run_until(io_, [&] { return control.now_playing().title == "Song"; });
    std::vector<NowPlaying> seen;
    ControlEvents events;
    events.now_playing = [&](const NowPlaying& playing) { seen.push_back(playing); };
    control.set_events(std::move(events));

    ASSERT_FALSE(media().script("set title=\"New title\" artist=Other").has_value());
    run_until(io_, [&] { return !seen.empty(); });
    fakes::run_for(io_, 100ms);
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0].title, "New title");
    EXPECT_EQ(seen[0].artist, "Other");
    EXPECT_EQ(control.now_playing(), seen[0]);

    ASSERT_FALSE(media().script("pause").has_value());
    run_until(io_, [&] { return seen.size() == 2; });
    EXPECT_EQ(seen.back().state, PlaybackState::paused);
    EXPECT_DOUBLE_EQ(seen.back().rate, 0.0);
}

TEST_F(MrpControlLoopback, ArtworkInTwoSizesIsFetchedOnceEach) {
    play_song();
    const Bytes image = to_bytes("\x89PNG fake image bytes");
    media().set_artwork(image, "image/png", 600, 400);
    Control& control = connect();
    run_until(io_, [&] { return !control.now_playing().artwork_identifier.empty(); });
    EXPECT_EQ(control.features().at(Feature::artwork), FeatureState::available);

    Artwork big = run(io_, control.artwork(300, 300));
    EXPECT_EQ(big.data, image);
    EXPECT_EQ(big.mime_type, "image/png");
    EXPECT_EQ(big.width, 300U);
    EXPECT_EQ(big.height, 300U);
    EXPECT_EQ(media().log().back(), "ARTWORK 300x300");
    Artwork small = run(io_, control.artwork(150, 0));
    EXPECT_EQ(media().log().back(), "ARTWORK 150x-1");
    EXPECT_EQ(small.width, 150U);
    EXPECT_EQ(small.height, 100U);  // the aspect ratio kept
    Artwork native = run(io_, control.artwork(0, 0));
    EXPECT_EQ(media().log().back(), "ARTWORK -1x-1");
    EXPECT_EQ(native.width, 600U);

    // Asked again: from the cache, nothing reaches the device.
    const std::size_t before = media().log().size();
    EXPECT_EQ(run(io_, control.artwork(300, 300)).data, image);
    EXPECT_EQ(media().log().size(), before);

    // New artwork has a new identifier and is fetched again.
    media().set_artwork(to_bytes("other"), "image/jpeg");
    run_until(io_, [&] { return run(io_, control.artwork(300, 300)).data == to_bytes("other"); });
    EXPECT_EQ(media().log().size(), before + 1);

    media().set_artwork({});
    run_until(io_, [&] { return control.now_playing().artwork_identifier.empty(); });
    EXPECT_EQ(expect_error([&] { run(io_, control.artwork(300, 300)); }).kind(),
              ErrorKind::not_found);
}

TEST_F(MrpControlLoopback, VolumeBothWays) {
    Control& control = connect();
    std::vector<std::optional<double>> reported;
    ControlEvents events;
    events.volume = [&](std::optional<double> level) { reported.push_back(level); };
    control.set_events(std::move(events));

    run(io_, control.set_volume(30));
    EXPECT_EQ(media().log().back(), "VOLUME 0.3");
    EXPECT_NEAR(media().volume(), 0.3, 1e-6);
    EXPECT_EQ(control.volume(), 30.0);

    media().set_volume(0.7);
    run_until(io_, [&] { return control.volume() == 70.0; });
    EXPECT_EQ(control.volume(), 70.0);

    run(io_, control.volume_up());
    EXPECT_EQ(control.volume(), 75.0);
    EXPECT_EQ(without_time(media().log().back()), "HID 12 0xe9 up");
    run(io_, control.volume_down());
    EXPECT_EQ(control.volume(), 70.0);
    fakes::run_for(io_, 50ms);
    const std::vector<std::optional<double>> expected = {30.0, 70.0, 75.0, 70.0};
    EXPECT_EQ(reported, expected);

    ASSERT_FALSE(media().script("volume off").has_value());
    run_until(io_, [&] { return !control.volume().has_value(); });
    EXPECT_FALSE(control.volume().has_value());
    EXPECT_EQ(control.features().at(Feature::set_volume), FeatureState::unavailable);
    EXPECT_EQ(expect_error([&] { run(io_, control.set_volume(20)); }).kind(),
              ErrorKind::not_supported);
}

TEST_F(MrpControlLoopback, FeaturesFollowTheSupportedCommands) {
    play_song();
    Control& control = connect();
    run_until(io_, [&] { return control.now_playing().title == "Song"; });
    EXPECT_EQ(control.features().at(Feature::next), FeatureState::available);
    int feature_events = 0;
    ControlEvents events;
    events.features = [&](const FeatureMap&) { ++feature_events; };
    control.set_events(std::move(events));

    ASSERT_FALSE(media().script("commands play,pause").has_value());
    run_until(io_, [&] { return feature_events > 0; });
    FeatureMap features = control.features();
    EXPECT_EQ(features.at(Feature::play), FeatureState::available);
    EXPECT_EQ(features.at(Feature::pause), FeatureState::available);
    EXPECT_EQ(features.at(Feature::next), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::skip_forward), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::title), FeatureState::available);
    EXPECT_EQ(features.at(Feature::select), FeatureState::available);

    ASSERT_FALSE(media().script("clear").has_value());
    run_until(io_, [&] { return control.now_playing().app.empty(); });
    features = control.features();
    EXPECT_EQ(features.at(Feature::play), FeatureState::unavailable);
    EXPECT_EQ(features.at(Feature::app), FeatureState::unavailable);
    EXPECT_EQ(control.now_playing().state, PlaybackState::idle);
}

TEST_F(MrpControlLoopback, AFloodOfStateUpdatesFiresAtMostOneEventEachAndStaysBounded) {
    play_song();
    Control& control = connect();
    run_until(io_, [&] { return control.now_playing().title == "Song"; });
    std::size_t events_seen = 0;
    ControlEvents events;
    NowPlaying last_seen;
    events.now_playing = [&](const NowPlaying& playing) {
        ++events_seen;
        last_seen = playing;
    };
    control.set_events(std::move(events));

    constexpr std::size_t flood = 5000;
    const auto position_before = control.now_playing().position;
    media().flood(flood);
    // Each message moves the position by a second: the last one shows when all have arrived.
    run_until(
        io_, [&] { return control.now_playing().position >= position_before + 4999s; }, 20s);
    fakes::run_for(io_, 100ms);
    EXPECT_GE(control.now_playing().position, position_before + 4999s);
    // Every message moved the position; those that arrived together were told at once.
    EXPECT_GE(events_seen, 1U);
    EXPECT_LE(events_seen, flood);
    EXPECT_EQ(last_seen, control.now_playing());
    auto* mrp_control = dynamic_cast<MrpControl*>(&control);
    ASSERT_NE(mrp_control, nullptr);
    EXPECT_EQ(mrp_control->state().client_count(), 1U);
    EXPECT_EQ(mrp_control->state().player_count(), 1U);
}

}  // namespace
}  // namespace atv::mrp
