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
#include "dmap/tags.hpp"
#include "fake_dmap.hpp"
#include "run_coroutine.hpp"

namespace atv::dmap {
namespace {

using namespace std::chrono_literals;
using fakes::run;
using fakes::run_for;
using fakes::run_until;

constexpr const char* trusted = "0x0123456789ABCDEF";
constexpr const char* home_sharing = "12345678-90ab-cdef-1234-567890abcdef";

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

}  // namespace
}  // namespace atv::dmap
