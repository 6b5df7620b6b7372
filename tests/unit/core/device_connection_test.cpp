// DeviceConnection and its control facade with stand-in protocol connections: which protocol
// serves what, and what one protocol's loss does to the rest.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "atv/atv.hpp"
#include "expect_error.hpp"
#include "run_coroutine.hpp"

namespace atv {
namespace {

using fakes::expect_error;
using fakes::run;

// A protocol's control that says which features it has and records what it was asked.
class RecordingControl final : public Control {
  public:
    explicit RecordingControl(FeatureMap features) : features_(std::move(features)) {}

    [[nodiscard]] FeatureMap features() const override { return features_; }
    [[nodiscard]] const NowPlaying& now_playing() const override { return playing_; }
    [[nodiscard]] std::optional<double> volume() const override { return volume_; }
    void set_events(ControlEvents events) override { events_ = std::move(events); }

    asio::awaitable<void> press(Key key, InputAction /*action*/,
                                std::optional<double> /*interval*/) override {
        pressed.push_back(key);
        co_return;
    }
    asio::awaitable<void> set_position(std::chrono::microseconds /*position*/) override {
        co_return;
    }
    asio::awaitable<void> set_shuffle(ShuffleMode /*mode*/) override { co_return; }
    asio::awaitable<void> set_repeat(RepeatMode /*mode*/) override { co_return; }
    asio::awaitable<Artwork> artwork(std::uint32_t /*width*/, std::uint32_t /*height*/) override {
        co_return Artwork{};
    }
    asio::awaitable<void> set_volume(double volume) override {
        volume_ = volume;
        co_return;
    }
    asio::awaitable<void> volume_up() override { co_return; }
    asio::awaitable<void> volume_down() override { co_return; }

    void play(const std::string& title) {
        playing_.title = title;
        if (events_.now_playing) {
            events_.now_playing(playing_);
        }
    }

    std::vector<Key> pressed;

  private:
    FeatureMap features_;
    NowPlaying playing_;
    std::optional<double> volume_;
    ControlEvents events_;
};

// A protocol connection whose loss a test provokes.
class StandInConnection final : public ProtocolConnection {
  public:
    StandInConnection(Protocol protocol, FeatureMap features, bool& closed)
        : protocol_(protocol), control_(std::move(features)), closed_(closed) {}

    [[nodiscard]] Protocol protocol() const override { return protocol_; }
    asio::awaitable<void> close() override {
        closed_ = true;
        co_return;
    }
    void on_lost(std::function<void(const std::string& reason)> callback) override {
        lost_ = std::move(callback);
    }
    Control* control() override { return &control_; }

    void drop(const std::string& reason) { lost_(reason); }
    RecordingControl& recording() { return control_; }

  private:
    Protocol protocol_;
    RecordingControl control_;
    bool& closed_;
    std::function<void(const std::string&)> lost_;
};

class DeviceConnectionTest : public ::testing::Test {
  protected:
    // MRP has the keys and what plays; Companion has Select too, and power.
    void SetUp() override {
        auto mrp = std::make_unique<StandInConnection>(
            Protocol::mrp,
            FeatureMap{{Feature::select, FeatureState::available},
                       {Feature::play, FeatureState::unavailable},
                       {Feature::push_updates, FeatureState::available},
                       {Feature::title, FeatureState::available}},
            mrp_closed_);
        auto companion = std::make_unique<StandInConnection>(
            Protocol::companion,
            FeatureMap{{Feature::select, FeatureState::available},
                       {Feature::play, FeatureState::available},
                       {Feature::power_state, FeatureState::available}},
            companion_closed_);
        mrp_ = mrp.get();
        companion_ = companion.get();
        std::vector<std::unique_ptr<ProtocolConnection>> connections;
        connections.push_back(std::move(mrp));
        connections.push_back(std::move(companion));
        connection_ = std::make_unique<DeviceConnection>(std::move(connections),
                                                         std::vector<ConnectFailure>{});
    }

    asio::io_context io_;
    bool mrp_closed_ = false;
    bool companion_closed_ = false;
    StandInConnection* mrp_ = nullptr;
    StandInConnection* companion_ = nullptr;
    std::unique_ptr<DeviceConnection> connection_;
};

TEST_F(DeviceConnectionTest, EachFeatureShowsItsBestStateAcrossProtocols) {
    const FeatureMap features = connection_->control().features();
    EXPECT_EQ(features.at(Feature::select), FeatureState::available);
    EXPECT_EQ(features.at(Feature::play), FeatureState::available);  // Companion's beats MRP's
    EXPECT_EQ(features.at(Feature::power_state), FeatureState::available);
    EXPECT_EQ(features.at(Feature::turn_on), FeatureState::unsupported);
    EXPECT_EQ(features.size(), feature_count);
}

TEST_F(DeviceConnectionTest, AKeyGoesToTheProtocolThatServesItBestTiesByPriority) {
    run(io_, connection_->control().press(Key::select, InputAction::single, std::nullopt));
    run(io_, connection_->control().press(Key::play, InputAction::single, std::nullopt));
    EXPECT_EQ(mrp_->recording().pressed, std::vector<Key>{Key::select});  // a tie: MRP first
    EXPECT_EQ(companion_->recording().pressed, std::vector<Key>{Key::play});
    const Error refused = expect_error([&] {
        run(io_, connection_->control().press(Key::screensaver, InputAction::single, std::nullopt));
    });
    EXPECT_EQ(refused.kind(), ErrorKind::not_supported);
    EXPECT_TRUE(fakes::contains(refused, "Screensaver"));
    EXPECT_EQ(expect_error([&] { run(io_, connection_->control().turn_on()); }).kind(),
              ErrorKind::not_supported);
}

TEST_F(DeviceConnectionTest, WhatPlaysComesFromTheProtocolThatPushesUpdates) {
    std::vector<std::string> titles;
    ControlEvents events;
    events.now_playing = [&](const NowPlaying& playing) { titles.push_back(playing.title); };
    connection_->control().set_events(std::move(events));
    mrp_->recording().play("From MRP");
    companion_->recording().play("From Companion");
    EXPECT_EQ(titles, std::vector<std::string>{"From MRP"});
    EXPECT_EQ(connection_->control().now_playing().title, "From MRP");
}

TEST_F(DeviceConnectionTest, OneProtocolLostLeavesTheOthersAndItsFeaturesGo) {
    bool device_lost = false;
    std::vector<Protocol> lost_protocols;
    std::optional<FeatureMap> reported;
    connection_->on_lost([&](const std::string&) { device_lost = true; });
    connection_->on_protocol_lost(
        [&](const ConnectFailure& lost) { lost_protocols.push_back(lost.protocol); });
    ControlEvents events;
    events.features = [&](const FeatureMap& features) { reported = features; };
    connection_->control().set_events(std::move(events));

    companion_->drop("the device closed the Companion link");
    EXPECT_FALSE(device_lost);
    EXPECT_EQ(lost_protocols, std::vector<Protocol>{Protocol::companion});
    EXPECT_EQ(connection_->protocols(), std::vector<Protocol>{Protocol::mrp});
    ASSERT_EQ(connection_->failures().size(), 1U);
    EXPECT_EQ(connection_->failures()[0].kind, ErrorKind::connection_lost);
    ASSERT_TRUE(reported.has_value());
    EXPECT_EQ(reported->at(Feature::power_state), FeatureState::unsupported);
    EXPECT_EQ(reported->at(Feature::play), FeatureState::unavailable);  // MRP's own state now

    mrp_->drop("the device closed the MRP connection");
    EXPECT_TRUE(device_lost);
    run(io_, connection_->close());
    EXPECT_TRUE(mrp_closed_);
    EXPECT_TRUE(companion_closed_);  // the dropped one is closed with the rest
}

}  // namespace
}  // namespace atv
