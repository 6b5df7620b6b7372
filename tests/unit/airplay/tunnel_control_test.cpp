// MRP control inside the AirPlay 2 tunnel (the tvOS 15 shape) against the fake receiver: keys,
// pushed state, artwork and volume travel through the data channel.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "airplay/tunnel.hpp"
#include "atv/error.hpp"
#include "fake_airplay.hpp"
#include "run_coroutine.hpp"

namespace atv::airplay {
namespace {

using namespace std::chrono_literals;
using fakes::run;
using fakes::run_until;

class TunnelControl : public ::testing::Test {
  protected:
    void SetUp() override {
        fakes::FakeAtvConfig config;
        config.pin = "1234";
        state_ = std::make_unique<fakes::FakeAtvState>(std::move(config));
        fake_ = std::make_unique<fakes::FakeAirPlay>(io_.get_executor(), *state_);
        fake_->start();
    }

    void TearDown() override {
        if (connection_) {
            // The listeners of a test capture its locals, which are gone by now.
            connection_->control()->set_events({});
            run(io_, connection_->close());
        }
        run(io_, fake_->stop());
    }

    // A transient tunnel, as to a HomePod; waits for the state sent on subscription.
    Control& connect() {
        connection_ = run(io_, connect_tunnel(io_.get_executor(), "127.0.0.1", fake_->port(),
                                              std::nullopt, 1000ms, TunnelOptions{}));
        Control* control = connection_->control();
        EXPECT_NE(control, nullptr);
        run_until(io_, [&] { return control->volume().has_value(); });
        return *control;
    }

    fakes::FakeMedia& media() { return state_->media(); }

    asio::io_context io_;
    std::unique_ptr<fakes::FakeAtvState> state_;
    std::unique_ptr<fakes::FakeAirPlay> fake_;
    std::unique_ptr<TunnelConnection> connection_;
};

TEST_F(TunnelControl, KeysStateArtworkAndVolumeTravelThroughTheTunnel) {
    ASSERT_FALSE(
        media()
            .script("play title=\"Tunnel song\" artist=A duration=200 app=com.apple.TVMusic")
            .has_value());
    media().set_artwork(to_bytes("jpeg bytes"), "image/jpeg", 400, 400);
    Control& control = connect();
    run_until(io_, [&] { return control.now_playing().title == "Tunnel song"; });
    EXPECT_EQ(control.now_playing().artist, "A");
    EXPECT_EQ(control.features().at(Feature::play), FeatureState::available);

    std::size_t before = media().log().size();
    run(io_, control.press(Key::select, InputAction::single, std::nullopt));
    run(io_, control.press(Key::pause, InputAction::single, std::nullopt));
    const auto& log = media().log();
    ASSERT_EQ(log.size(), before + 3);
    EXPECT_TRUE(log[before].starts_with("HID 1 0x89 down t="));
    EXPECT_TRUE(log[before + 1].starts_with("HID 1 0x89 up t="));
    EXPECT_EQ(log[before + 2], "COMMAND Pause");
    run_until(io_, [&] { return control.now_playing().state == PlaybackState::paused; });
    EXPECT_EQ(control.now_playing().state, PlaybackState::paused);

    int changes = 0;
    ControlEvents events;
    events.now_playing = [&](const NowPlaying&) { ++changes; };
    control.set_events(std::move(events));
    ASSERT_FALSE(media().script("set title=Renamed").has_value());
    run_until(io_, [&] { return changes == 1; });
    EXPECT_EQ(control.now_playing().title, "Renamed");

    const Artwork artwork = run(io_, control.artwork(200, 200));
    EXPECT_EQ(artwork.data, to_bytes("jpeg bytes"));
    EXPECT_EQ(artwork.mime_type, "image/jpeg");
    EXPECT_EQ(media().log().back(), "ARTWORK 200x200");

    run(io_, control.set_volume(20));
    EXPECT_EQ(media().log().back(), "VOLUME 0.2");
    media().set_volume(0.9);
    run_until(io_, [&] { return control.volume() == 90.0; });
    EXPECT_EQ(control.volume(), 90.0);
}

TEST_F(TunnelControl, TheControlIsThereOnlyOnceTheTunnelIs) {
    Control& control = connect();
    EXPECT_EQ(control.now_playing().state, PlaybackState::idle);
    EXPECT_EQ(control.features().at(Feature::select), FeatureState::available);
    EXPECT_EQ(control.features().at(Feature::title), FeatureState::unavailable);
}

}  // namespace
}  // namespace atv::airplay
