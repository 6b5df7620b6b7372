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

// What Apple's Remote app sends with every request (protocols-control.md §5), written out here
// rather than taken from libatv, so that a wrong value there fails these tests.
const std::vector<std::pair<std::string, std::string>> remote_app_headers = {
    {"Accept", "*/*"},
    {"Accept-Encoding", "gzip"},
    {"Client-DAAP-Version", "3.13"},
    {"Client-ATV-Sharing-Version", "1.2"},
    {"Client-iTunes-Sharing-Version", "3.15"},
    {"User-Agent", "Remote/1021"},
    {"Viewer-Only-Client", "1"},
};

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
        http::Request request;
        request.method = "GET";
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

}  // namespace
}  // namespace atv::dmap
