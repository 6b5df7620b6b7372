// connect_dmap against the fake Apple TV's DMAP side over real TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atv/error.hpp"
#include "connection_steps.hpp"
#include "dmap/connection.hpp"
#include "dmap/control.hpp"
#include "dmap/tags.hpp"
#include "expect_error.hpp"
#include "fake_dmap.hpp"
#include "http/transfer.hpp"
#include "run_coroutine.hpp"
#include "support/tcp.hpp"

namespace atv::dmap {
namespace {

using namespace std::chrono_literals;
using fakes::run;
using fakes::run_for;
using fakes::run_until;

constexpr const char* trusted = "0x0123456789ABCDEF";
constexpr const char* home_sharing = "12345678-90ab-cdef-1234-567890abcdef";

// What Apple's Remote app sends with every request, as the fake insists on them.
const std::vector<std::pair<std::string, std::string>> remote_app_headers(
    fakes::remote_app_headers.begin(), fakes::remote_app_headers.end());

class DmapLoopback : public ::testing::Test {
  protected:
    DmapLoopback() : fake_(io_.get_executor(), config()) {
        fake_.service().on_event([this](const std::string& event) { events_.push_back(event); });
        fake_.start();
    }
    ~DmapLoopback() override { run(io_, fake_.stop()); }

    static fakes::FakeDmapConfig config() {
        fakes::FakeDmapConfig config;
        config.credentials = {trusted, home_sharing};
        return config;
    }

    std::unique_ptr<ProtocolConnection> connect(
        const std::string& credentials,
        std::chrono::milliseconds play_status_wait = default_play_status_wait) {
        return run(io_, connect_dmap(io_.get_executor(), "127.0.0.1", fake_.port(), credentials,
                                     2000ms, play_status_wait));
    }

    // One GET with exactly `headers` (and a Host unless `with_host` is false); the reply as it
    // came over the wire, its body not decoded.
    http::Response raw_get(const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           bool with_host = true) {
        return raw_request("GET", target, headers, with_host);
    }

    http::Response raw_request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               bool with_host = true) {
        http::Request request;
        request.method = method;
        request.target = target;
        if (with_host) {
            request.headers.add("Host", "127.0.0.1:" + std::to_string(fake_.port()));
        }
        for (const auto& [name, value] : headers) {
            request.headers.add(name, value);
        }
        request.headers.add("Connection", "close");
        return run(io_, [&]() -> asio::awaitable<http::Response> {
            auto socket =
                co_await connect_tcp(io_.get_executor(), "127.0.0.1", fake_.port(), 2000ms, "fake");
            http::Reader reader(http::Reader::Kind::response);
            co_return co_await http::round_trip(socket, reader, request, 2000ms);
        }());
    }

    // A connection whose losses losses_ records, from when its play status poll waits at the fake.
    std::unique_ptr<ProtocolConnection> connect_watched() {
        auto connection = connect(trusted);
        losses_.emplace(*connection);
        run_until(io_, [&] { return fake_.held_polls() == 1; });
        EXPECT_EQ(fake_.held_polls(), 1u);
        return connection;
    }

    // The reason the loss was reported with; a failure unless exactly one report came.
    std::string awaited_loss() {
        losses_->await(io_);
        EXPECT_EQ(losses_->count(), 1) << "a loss is reported exactly once";
        return losses_->reason();
    }

    asio::io_context io_;
    fakes::FakeDmap fake_;
    std::vector<std::string> events_;
    std::optional<fakes::LossRecorder> losses_;
};

TEST_F(DmapLoopback, LogsInWithThePairingGuidAndOutOnClose) {
    auto connection = connect(trusted);
    EXPECT_EQ(connection->protocol(), Protocol::dmap);
    const auto session = static_cast<DmapConnection&>(*connection).session_id();
    EXPECT_EQ(fake_.service().sessions().count(session), 1u);
    EXPECT_EQ(fake_.service().play_status_requests(), 1u);  // answered once while connecting
    run(io_, connection->close());
    EXPECT_TRUE(fake_.service().sessions().empty());
    EXPECT_EQ(events_, (std::vector<std::string>{"LOGIN " + std::to_string(session),
                                                 "LOGOUT " + std::to_string(session)}));
    run(io_, connection->close());  // idempotent: no second logout
    EXPECT_EQ(events_.size(), 2u);
}

TEST_F(DmapLoopback, LoginAndGetsGoThroughWithGzipReplies) {
    auto connection = connect(trusted);
    auto& dmap = static_cast<DmapConnection&>(*connection);
    const auto status =
        run(io_, dmap.get("/ctrl-int/1/playstatusupdate?revision-number=0", 2000ms));
    EXPECT_EQ(status.status, 200);
    EXPECT_FALSE(status.headers.get("Content-Encoding")) << "the body is decoded for the reader";
    EXPECT_EQ(decode_one(status.body, "cmst").find("cmsr")->as_uint(), fake_.service().revision());
    const auto info =
        run(io_, http_get(io_.get_executor(), "127.0.0.1", fake_.port(), "/server-info", 2000ms));
    EXPECT_EQ(decode_one(info.body, "msrv").find("minm")->as_string(), "Fake Apple TV");
    EXPECT_TRUE(fake_.service().header_refusals().empty());
    run(io_, connection->close());
    EXPECT_EQ(events_.size(), 2u) << "the logout went through too";
    EXPECT_TRUE(fake_.service().header_refusals().empty());
}

TEST_F(DmapLoopback, TheFakeSendsGzipAsAsked) {
    const auto reply = raw_get("/server-info", remote_app_headers);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.headers.get("Content-Encoding"), "gzip");
    ASSERT_GE(reply.body.size(), 2u);
    EXPECT_EQ(reply.body[0], 0x1f);
    EXPECT_EQ(reply.body[1], 0x8b);
}

TEST_F(DmapLoopback, TheFakeRefusesARequestMissingAnyRemoteHeader) {
    for (std::size_t missing = 0; missing < remote_app_headers.size(); ++missing) {
        auto headers = remote_app_headers;
        headers.erase(headers.begin() + static_cast<std::ptrdiff_t>(missing));
        const std::string& name = remote_app_headers[missing].first;
        EXPECT_EQ(raw_get(login_target(trusted), headers).status, 400) << "without " << name;
        ASSERT_FALSE(fake_.service().header_refusals().empty());
        EXPECT_EQ(fake_.service().header_refusals().back(), "no " + name);
    }
    EXPECT_EQ(raw_get("/server-info", remote_app_headers, false).status, 400);
    EXPECT_EQ(fake_.service().header_refusals().back(), "no Host");
    EXPECT_TRUE(fake_.service().sessions().empty());
}

TEST_F(DmapLoopback, TheFakeRefusesAWrongRemoteHeader) {
    for (std::size_t wrong = 0; wrong < remote_app_headers.size(); ++wrong) {
        auto headers = remote_app_headers;
        headers[wrong].second = "9.9";
        EXPECT_EQ(raw_get("/server-info", headers).status, 400) << headers[wrong].first;
        EXPECT_EQ(
            fake_.service().header_refusals().back(),
            headers[wrong].first + " is \"9.9\", not \"" + remote_app_headers[wrong].second + "\"");
    }
    EXPECT_EQ(raw_get("/server-info", remote_app_headers).status, 200);
    EXPECT_EQ(fake_.service().header_refusals().size(), remote_app_headers.size());
}

TEST_F(DmapLoopback, TheFakeWantsTheSessionIdAfterLogin) {
    auto connection = connect(trusted);
    const auto session = static_cast<DmapConnection&>(*connection).session_id();
    const std::string status = "/ctrl-int/1/playstatusupdate?revision-number=0";
    EXPECT_EQ(raw_get(status, remote_app_headers).status, 403);
    EXPECT_EQ(
        raw_get(status + "&session-id=" + std::to_string(session + 1), remote_app_headers).status,
        403);
    EXPECT_EQ(raw_get(status + "&session-id=" + std::to_string(session), remote_app_headers).status,
              200);
    run(io_, connection->close());
}

TEST_F(DmapLoopback, LogsInWithAHomeSharingId) {
    auto connection = connect(home_sharing);
    EXPECT_EQ(fake_.service().sessions().size(), 1u);
    run(io_, connection->close());
}

TEST_F(DmapLoopback, RequestsCarryTheSessionId) {
    auto connection = connect(trusted);
    auto& dmap = static_cast<DmapConnection&>(*connection);
    // The fake answers 404 to a known session and 403 to anything else.
    EXPECT_EQ(run(io_, dmap.get("/ctrl-int/1/nothing", 2000ms)).status, 404);
    const auto status =
        run(io_, dmap.get("/ctrl-int/1/playstatusupdate?revision-number=0", 2000ms));
    EXPECT_EQ(status.status, 200);
    EXPECT_EQ(decode_one(status.body, "cmst").find("caps")->as_uint(), 2u);
    run(io_, connection->close());
    EXPECT_THROW(run(io_, dmap.get("/ctrl-int/1/nothing", 2000ms)), Error);
}

TEST_F(DmapLoopback, AnUnknownGuidIsAnAuthenticationFailure) {
    try {
        connect("0x00000000000000AA");
        ADD_FAILURE() << "login with an unknown GUID succeeded";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
        EXPECT_EQ(std::string(error.what()).find("00000000000000AA"), std::string::npos);
    }
    EXPECT_TRUE(fake_.service().sessions().empty());
}

TEST_F(DmapLoopback, NobodyListeningIsAConnectionFailure) {
    const std::uint16_t port = fake_.port();
    run(io_, fake_.stop());
    try {
        run(io_, connect_dmap(io_.get_executor(), "127.0.0.1", port, trusted, 2000ms));
        ADD_FAILURE() << "connected to a closed port";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
}

TEST_F(DmapLoopback, WatchesTheSessionWithAPlayStatusLongPoll) {
    auto connection = connect_watched();
    run_for(io_, 200ms);
    EXPECT_EQ(fake_.held_polls(), 1u);
    EXPECT_EQ(losses_->count(), 0);

    // A change answers the poll, and the next one waits for the revision after it.
    fake_.change_playing();
    run_until(io_, [&] { return fake_.service().play_status_requests() == 2; });
    run_until(io_, [&] { return fake_.held_polls() == 1; });
    EXPECT_EQ(fake_.service().play_status_requests(), 2u);
    EXPECT_EQ(fake_.held_polls(), 1u);
    EXPECT_EQ(losses_->count(), 0);
    run(io_, connection->close());
}

TEST_F(DmapLoopback, APollWithoutAChangeIsAskedAnew) {
    auto connection = connect(trusted, 100ms);
    const fakes::LossRecorder losses(*connection);
    // The fake holds each abandoned poll until it stops: three held means three asked.
    run_until(io_, [&] { return fake_.held_polls() >= 3; });
    EXPECT_GE(fake_.held_polls(), 3u);
    EXPECT_EQ(losses.count(), 0);
    run(io_, connection->close());
}

TEST_F(DmapLoopback, ADeviceDroppingThePollLosesTheSession) {
    auto connection = connect_watched();
    fake_.drop_connections();
    EXPECT_FALSE(awaited_loss().empty());
    run(io_, connection->close());
}

TEST_F(DmapLoopback, ADeviceThatForgotTheSessionLosesIt) {
    auto connection = connect_watched();
    fake_.forget_sessions();
    EXPECT_EQ(awaited_loss(), "the Apple TV ended the DMAP session (HTTP 403)");
    run(io_, connection->close());
}

TEST_F(DmapLoopback, ADeviceNoLongerListeningLosesTheSession) {
    auto connection = connect_watched();
    run(io_, fake_.stop());
    EXPECT_FALSE(awaited_loss().empty());
    run(io_, connection->close());
}

TEST_F(DmapLoopback, CloseEndsTheWatchAndReportsNoLoss) {
    auto connection = connect_watched();
    const auto started = std::chrono::steady_clock::now();
    run(io_, connection->close());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1000ms);
    EXPECT_EQ(events_.size(), 2u);  // LOGIN, LOGOUT
    fake_.drop_connections();
    run_for(io_, 200ms);
    EXPECT_EQ(losses_->count(), 0);
}

// ---- control ----

constexpr const char* form = "application/x-www-form-urlencoded";

// A session with the fake whose control reports into the members below.
class DmapControlLoopback : public DmapLoopback {
  protected:
    DmapControlLoopback() {
        connection_ = connect_watched();
        control_ = &static_cast<DmapConnection&>(*connection_).dmap_control();
        ControlEvents events;
        events.now_playing = [this](const NowPlaying& playing) { reported_.push_back(playing); };
        events.volume = [this](std::optional<double> level) { volumes_.push_back(level); };
        events.features = [this](const FeatureMap& features) { features_ = features; };
        control_->set_events(std::move(events));
    }
    ~DmapControlLoopback() override { run(io_, connection_->close()); }

    // Applies a script line at the fake and waits until the control has the new revision.
    void script(const std::string& line) {
        ASSERT_EQ(fake_.script(line), std::nullopt) << line;
        EXPECT_TRUE(
            run_until(io_, [&] { return control_->revision() == fake_.service().revision(); }));
        run_until(io_, [&] { return fake_.held_polls() == 1; });
    }

    // What the fake printed for the session, without logins and logouts.
    std::vector<std::string> received() const {
        std::vector<std::string> out;
        for (const std::string& event : events_) {
            if (!event.starts_with("LOGIN") && !event.starts_with("LOGOUT")) {
                out.push_back(event);
            }
        }
        return out;
    }

    void press(Key key, InputAction action = InputAction::single,
               std::optional<double> interval = std::nullopt) {
        run(io_, control_->press(key, action, interval));
    }

    std::string session() const {
        return std::to_string(static_cast<DmapConnection&>(*connection_).session_id());
    }

    std::unique_ptr<ProtocolConnection> connection_;
    DmapControl* control_ = nullptr;
    std::vector<NowPlaying> reported_;
    std::vector<std::optional<double>> volumes_;
    std::optional<FeatureMap> features_;
};

TEST_F(DmapControlLoopback, TheConnectionOffersTheControl) {
    EXPECT_EQ(connection_->control(), control_);
}

TEST_F(DmapControlLoopback, PlaybackKeysAreCtrlIntCommands) {
    for (const Key key :
         {Key::play_pause, Key::play, Key::pause, Key::stop, Key::next, Key::previous}) {
        press(key);
    }
    EXPECT_EQ(received(), (std::vector<std::string>{"CMD playpause", "CMD play", "CMD pause",
                                                    "CMD stop", "CMD nextitem", "CMD previtem"}));
    EXPECT_TRUE(fake_.service().header_refusals().empty());
}

TEST_F(DmapControlLoopback, MenuSelectAndTopMenuAreControlPromptEntries) {
    press(Key::menu);
    press(Key::select, InputAction::double_tap);
    press(Key::top_menu);
    EXPECT_EQ(received(), (std::vector<std::string>{"PROMPT menu", "PROMPT select", "PROMPT select",
                                                    "PROMPT topmenu"}));
}

TEST_F(DmapControlLoopback, ArrowsAreSwipes) {
    for (const Key key : {Key::up, Key::down, Key::left, Key::right}) {
        press(key);
    }
    EXPECT_EQ(received(),
              (std::vector<std::string>{"SWIPE up", "SWIPE down", "SWIPE left", "SWIPE right"}));
}

TEST_F(DmapControlLoopback, KeysDmapLacksAreNotSupported) {
    EXPECT_EQ(fakes::expect_error([&] { press(Key::home); }).kind(), ErrorKind::not_supported);
    EXPECT_EQ(fakes::expect_error([&] { press(Key::select, InputAction::hold); }).kind(),
              ErrorKind::not_supported);
    EXPECT_EQ(fakes::expect_error([&] { press(Key::play, InputAction::double_tap); }).kind(),
              ErrorKind::invalid_arguments);
    EXPECT_TRUE(received().empty()) << "nothing was sent";
}

TEST_F(DmapControlLoopback, TheFakeRefusesAnUnknownCommandAsADeviceDoes) {
    const auto headers = [&](bool with_type) {
        auto all = remote_app_headers;
        if (with_type) {
            all.emplace_back("Content-Type", form);
        }
        return all;
    };
    const std::string query = "?prompt-id=0&session-id=" + session();
    EXPECT_EQ(raw_request("POST", "/ctrl-int/1/warpdrive" + query, headers(true)).status, 500);
    EXPECT_EQ(received(), (std::vector<std::string>{"REFUSED warpdrive"}));
    EXPECT_EQ(raw_request("POST", "/ctrl-int/1/play" + query, headers(false)).status, 400);
    EXPECT_EQ(fake_.service().header_refusals().back(), "no Content-Type");
    EXPECT_EQ(raw_request("POST", "/ctrl-int/1/play?prompt-id=0", headers(true)).status, 403);
    EXPECT_EQ(raw_request("GET", "/ctrl-int/1/play" + query, headers(false)).status, 404);
    EXPECT_EQ(raw_request("POST", "/ctrl-int/1/play?session-id=" + session(), headers(true)).status,
              400)
        << "no prompt-id";
    EXPECT_EQ(received().size(), 1u) << "none of them was carried out";
}

TEST_F(DmapControlLoopback, NowPlayingComesFromTheLongPoll) {
    const std::uint32_t before = control_->revision();
    script(
        "dmap-play title=\"Hello World\" artist=Me album=First genre=Pop total=300000 "
        "remaining=258000 media=music shuffle=on repeat=all");
    EXPECT_GT(control_->revision(), before);
    ASSERT_TRUE(run_until(io_, [&] { return !reported_.empty(); }));
    const NowPlaying& playing = reported_.back();
    EXPECT_EQ(playing.state, PlaybackState::playing);
    EXPECT_EQ(playing.title, "Hello World");
    EXPECT_EQ(playing.artist, "Me");
    EXPECT_EQ(playing.album, "First");
    EXPECT_EQ(playing.genre, "Pop");
    EXPECT_EQ(playing.media_type, MediaType::music);
    EXPECT_EQ(playing.duration, 300s);
    EXPECT_EQ(playing.position, 42s);
    EXPECT_EQ(playing.rate, 1.0);
    EXPECT_EQ(playing.shuffle, ShuffleMode::songs);
    EXPECT_EQ(playing.repeat, RepeatMode::all);
    EXPECT_FALSE(playing.artwork_identifier.empty());
    EXPECT_EQ(control_->now_playing(), playing);

    // A command changes the device; its play status comes back through the poll.
    const std::size_t reports = reported_.size();
    press(Key::play_pause);
    ASSERT_TRUE(run_until(io_, [&] { return reported_.size() > reports; }));
    EXPECT_EQ(reported_.back().state, PlaybackState::paused);
    EXPECT_EQ(reported_.back().rate, 0.0);
    EXPECT_EQ(control_->revision(), fake_.service().revision());

    script("dmap-stop");
    ASSERT_TRUE(run_until(io_, [&] { return reported_.back().state == PlaybackState::stopped; }));
    EXPECT_TRUE(reported_.back().title.empty());
    EXPECT_TRUE(reported_.back().artwork_identifier.empty());
}

TEST_F(DmapControlLoopback, AnUnchangedPlayStatusReportsNothing) {
    script("dmap-play title=Same state=paused total=1000 remaining=1000");
    ASSERT_TRUE(run_until(io_, [&] { return reported_.size() == 1; }));
    script("dmap-volume 50");  // a new revision with the same item
    run_for(io_, 100ms);
    EXPECT_EQ(reported_.size(), 1u);
}

TEST_F(DmapControlLoopback, FeaturesFollowThePlayStatus) {
    FeatureMap features = control_->features();
    EXPECT_EQ(features[Feature::select], FeatureState::available);
    EXPECT_EQ(features[Feature::up], FeatureState::available);
    EXPECT_EQ(features[Feature::push_updates], FeatureState::available);
    EXPECT_EQ(features[Feature::play], FeatureState::unavailable) << "nothing plays";
    EXPECT_EQ(features[Feature::title], FeatureState::unavailable);
    EXPECT_EQ(features[Feature::volume], FeatureState::available);
    EXPECT_EQ(features[Feature::home], FeatureState::unsupported);
    EXPECT_EQ(features[Feature::power_state], FeatureState::unsupported);

    script("dmap-play title=Song total=200000 remaining=100000");
    ASSERT_TRUE(run_until(io_, [&] { return features_.has_value(); }));
    features = *features_;
    EXPECT_EQ(features, control_->features());
    for (const Feature now : {Feature::play, Feature::pause, Feature::play_pause, Feature::next,
                              Feature::title, Feature::total_time, Feature::position,
                              Feature::set_position, Feature::skip_forward, Feature::artwork}) {
        EXPECT_EQ(features[now], FeatureState::available) << to_string(now);
    }
    EXPECT_EQ(features[Feature::artist], FeatureState::unavailable) << "no artist was sent";

    script("dmap-volume off");
    ASSERT_TRUE(run_until(
        io_, [&] { return control_->features()[Feature::volume] == FeatureState::unavailable; }));
    EXPECT_EQ(control_->volume(), std::nullopt);
    ASSERT_FALSE(volumes_.empty());
    EXPECT_EQ(volumes_.back(), std::nullopt);
}

TEST_F(DmapControlLoopback, PositionShuffleAndRepeatAreProperties) {
    script("dmap-play title=Song state=paused total=300000 remaining=258000");
    run(io_, control_->set_position(42s));
    run(io_, control_->set_shuffle(ShuffleMode::albums));
    run(io_, control_->set_repeat(RepeatMode::track));
    run(io_, control_->set_repeat(RepeatMode::off));
    EXPECT_EQ(received(),
              (std::vector<std::string>{"SET dacp.playingtime=42000", "SET dacp.shufflestate=1",
                                        "SET dacp.repeatstate=1", "SET dacp.repeatstate=0"}));
    EXPECT_EQ(fakes::expect_error([&] { run(io_, control_->set_position(-1s)); }).kind(),
              ErrorKind::invalid_arguments);
}

TEST_F(DmapControlLoopback, SkipsSeekFromThePosition) {
    script("dmap-play title=Song state=paused total=300000 remaining=258000");
    press(Key::skip_forward);
    script("dmap-pause");  // the seek is back through the poll
    press(Key::skip_backward, InputAction::single, 30.0);
    EXPECT_EQ(received(), (std::vector<std::string>{"SET dacp.playingtime=52000",
                                                    "SET dacp.playingtime=22000"}));
    EXPECT_EQ(
        fakes::expect_error([&] { press(Key::skip_forward, InputAction::single, -1.0); }).kind(),
        ErrorKind::invalid_arguments);
}

TEST_F(DmapControlLoopback, ARefusedSeekIsNotSupported) {
    script("dmap-play title=Song state=paused total=1000 remaining=1000");
    const Error error = fakes::expect_error([&] { run(io_, control_->set_position(5s)); });
    EXPECT_EQ(error.kind(), ErrorKind::not_supported);
    EXPECT_TRUE(fakes::contains(error, "HTTP 500")) << error.what();
    EXPECT_EQ(received(), (std::vector<std::string>{"REFUSED dacp.playingtime=5000"}));
}

TEST_F(DmapControlLoopback, ArtworkBySize) {
    EXPECT_EQ(fakes::expect_error([&] { run(io_, control_->artwork(300, 300)); }).kind(),
              ErrorKind::not_found)
        << "nothing plays";
    script("dmap-play title=Song");
    const Artwork artwork = run(io_, control_->artwork(300, 200));
    EXPECT_EQ(artwork.mime_type, "image/png");
    EXPECT_EQ(artwork.width, 300u);
    EXPECT_EQ(artwork.height, 200u);
    ASSERT_GE(artwork.data.size(), 8u);
    EXPECT_EQ(artwork.data[1], 'P');
    const Artwork own = run(io_, control_->artwork(0, 0));
    EXPECT_EQ(own.width, 600u);
    script("dmap-artwork none");
    EXPECT_EQ(fakes::expect_error([&] { run(io_, control_->artwork(300, 300)); }).kind(),
              ErrorKind::not_found);
    EXPECT_EQ(received(), (std::vector<std::string>{"ARTWORK 300x300", "ARTWORK 300x200",
                                                    "ARTWORK 0x0", "ARTWORK 300x300"}));
}

TEST_F(DmapControlLoopback, VolumeBothWays) {
    EXPECT_EQ(control_->volume(), 50.0) << "read while connecting";
    run(io_, control_->set_volume(40));
    EXPECT_EQ(fake_.service().volume(), 40u);
    EXPECT_EQ(control_->volume(), 40.0);
    run(io_, control_->volume_up());
    EXPECT_EQ(control_->volume(), 45.0) << "read back from the device";
    press(Key::volume_down);
    EXPECT_EQ(control_->volume(), 40.0);
    EXPECT_EQ(received(),
              (std::vector<std::string>{"VOLUME 40", "CMD volumeup", "CMD volumedown"}));
    ASSERT_TRUE(run_until(io_, [&] { return volumes_.size() == 3; }));
    EXPECT_EQ(volumes_, (std::vector<std::optional<double>>{40.0, 45.0, 40.0}));
    EXPECT_EQ(fakes::expect_error([&] { run(io_, control_->set_volume(101)); }).kind(),
              ErrorKind::invalid_arguments);

    script("dmap-volume off");
    EXPECT_EQ(fakes::expect_error([&] { run(io_, control_->set_volume(10)); }).kind(),
              ErrorKind::not_supported);
    EXPECT_EQ(fakes::expect_error([&] { run(io_, control_->volume_up()); }).kind(),
              ErrorKind::not_supported);
}

TEST_F(DmapControlLoopback, AForgottenSessionIsALostConnection) {
    fake_.service().forget_sessions();
    EXPECT_EQ(fakes::expect_error([&] { press(Key::play); }).kind(), ErrorKind::connection_lost);
}

TEST(DmapPlayStatus, ReadsWhatTheDeviceLeavesOut) {
    // No media kind: artist or album mean music, neither means video; unknown times are none.
    const Tag video = decode_one(
        encode_container("cmst",
                         {encode_uint("caps", 4, 1), encode_string("cann", "Film"),
                          encode_uint("cast", 0xFFFFFFFF, 4), encode_uint("cant", 0xFFFFFFFF, 4)}),
        "cmst");
    const NowPlaying playing = now_playing_from(video, {});
    EXPECT_EQ(playing.media_type, MediaType::video);
    EXPECT_EQ(playing.duration, 0s);
    EXPECT_EQ(playing.position, 0s);
    const Tag music = decode_one(
        encode_container("cmst", {encode_uint("caps", 3, 1), encode_string("cana", "Me")}), "cmst");
    EXPECT_EQ(now_playing_from(music, {}).media_type, MediaType::music);
    EXPECT_EQ(now_playing_from(music, {}).state, PlaybackState::paused);
    const Tag odd = decode_one(
        encode_container("cmst", {encode_uint("caps", 9, 1), encode_uint("cmmk", 12345, 4)}),
        "cmst");
    EXPECT_EQ(now_playing_from(odd, {}).state, PlaybackState::idle);
    EXPECT_EQ(now_playing_from(odd, {}).media_type, MediaType::unknown);
}

TEST(DmapPromptEntry, CarriesTheKeyAndItsKind) {
    const std::vector<Tag> tags = decode(prompt_entry("select", 0));
    ASSERT_EQ(tags.size(), 2u);
    EXPECT_EQ(tags[0].name, "cmbe");
    EXPECT_EQ(tags[0].as_string(), "select");
    EXPECT_EQ(tags[1].name, "cmcc");
    EXPECT_EQ(tags[1].as_uint(), 0u);
}

}  // namespace
}  // namespace atv::dmap
