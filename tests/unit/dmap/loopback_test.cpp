// connect_dmap against the fake Apple TV's DMAP side over real TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "atv/error.hpp"
#include "dmap/connection.hpp"
#include "dmap/tags.hpp"
#include "fake_dmap.hpp"
#include "run_coroutine.hpp"

namespace atv::dmap {
namespace {

using namespace std::chrono_literals;
using fakes::run;

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

    std::unique_ptr<ProtocolConnection> connect(const std::string& credentials) {
        return run(
            io_, connect_dmap(io_.get_executor(), "127.0.0.1", fake_.port(), credentials, 2000ms));
    }

    asio::io_context io_;
    fakes::FakeDmap fake_;
    std::vector<std::string> events_;
};

TEST_F(DmapLoopback, LogsInWithThePairingGuidAndOutOnClose) {
    auto connection = connect(trusted);
    EXPECT_EQ(connection->protocol(), Protocol::dmap);
    const auto session = static_cast<DmapConnection&>(*connection).session_id();
    EXPECT_EQ(fake_.service().sessions().count(session), 1u);
    EXPECT_EQ(fake_.service().play_status_requests(), 1u);  // asked once while connecting
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

}  // namespace
}  // namespace atv::dmap
