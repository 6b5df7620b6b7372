// MrpPairingHandler and connect_mrp against the fake Apple TV over real TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "atv/error.hpp"
#include "connection_steps.hpp"
#include "expect_error.hpp"
#include "fake_atv.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "mrp/connection.hpp"
#include "mrp/pairing.hpp"
#include "run_coroutine.hpp"

namespace atv::mrp {
namespace {

using namespace std::chrono_literals;
using fakes::FakeAppleTv;
using fakes::FakeAtvConfig;
using fakes::Misbehaviour;

using fakes::contains;
using fakes::expect_error;
using fakes::LossRecorder;
using fakes::run;
using fakes::run_for;
using fakes::run_until;

class MrpLoopback : public ::testing::Test {
  protected:
    void start_fake(FakeAtvConfig config = {}) {
        if (config.pin.empty() && !random_pin_) {
            config.pin = "1234";
        }
        fake_ = std::make_unique<FakeAppleTv>(io_.get_executor(), std::move(config));
        fake_->start();
    }

    void stop_fake() {
        if (fake_) {
            run(io_, fake_->stop());
            fake_.reset();
        }
    }

    void TearDown() override { stop_fake(); }

    std::unique_ptr<MrpPairingHandler> make_handler() {
        auto handler =
            std::make_unique<MrpPairingHandler>(io_.get_executor(), "127.0.0.1", fake_->port(),
                                                hap::ClientIdentity::generate(), PairingOptions{});
        handler->set_step_timeout(1000ms);
        return handler;
    }

    std::string pair(const std::string& pin = "1234") {
        return fakes::pair_with_pin(io_, *make_handler(), pin);
    }

    std::unique_ptr<MrpConnection> connect(const std::string& credentials,
                                           MrpConnectOptions options = {}) {
        return run(io_, connect_mrp(io_.get_executor(), "127.0.0.1", fake_->port(),
                                    hap::HapCredentials::parse(credentials), 1000ms, options));
    }

    std::filesystem::path temp_state_file() {
        auto path = std::filesystem::temp_directory_path() /
                    ("atvd-fake-state-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove(path);
        return path;
    }

    asio::io_context io_;
    std::unique_ptr<FakeAppleTv> fake_;
    bool random_pin_ = false;
};

TEST_F(MrpLoopback, PairsWithTheRightPinThenConnects) {
    start_fake();
    auto handler = make_handler();
    EXPECT_TRUE(handler->device_provides_pin());
    EXPECT_EQ(handler->protocol(), Protocol::mrp);
    run(io_, handler->begin());
    EXPECT_FALSE(handler->has_paired());
    handler->pin("1234");
    run(io_, handler->finish());
    ASSERT_TRUE(handler->has_paired());
    const auto credentials = hap::HapCredentials::parse(handler->credentials());
    EXPECT_EQ(to_string(credentials.device_id), fake_->state().unique_identifier());
    EXPECT_EQ(credentials.ltpk, fake_->state().identity().keys.public_key);
    EXPECT_EQ(fake_->state().paired_count(), 1U);
    run(io_, handler->close());

    auto connection = connect(handler->credentials());
    EXPECT_EQ(connection->protocol(), Protocol::mrp);
    EXPECT_TRUE(connection->channel().encrypted());
    // A request after connecting travels encrypted both ways.
    const auto reply = run(io_, connection->channel().request(heartbeat(), 1000ms));
    EXPECT_EQ(reply.type(), ProtocolMessage::GENERIC_MESSAGE);
    run(io_, connection->close());
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0U);
}

TEST_F(MrpLoopback, RandomPinIsShownForEachPairing) {
    random_pin_ = true;
    start_fake();
    std::string shown;
    fake_->state().on_pin([&](const std::string& pin) { shown = pin; });
    auto handler = make_handler();
    run(io_, handler->begin());
    ASSERT_EQ(shown.size(), 4U);
    EXPECT_EQ(shown, fake_->state().current_pin());
    handler->pin(shown);
    run(io_, handler->finish());
    EXPECT_TRUE(handler->has_paired());
}

TEST_F(MrpLoopback, WrongPinSaysSo) {
    start_fake();
    auto handler = make_handler();
    run(io_, handler->begin());
    handler->pin("4321");
    const Error error = expect_error([&] { run(io_, handler->finish()); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_TRUE(contains(error, "the PIN was wrong")) << error.what();
    EXPECT_FALSE(handler->has_paired());
    EXPECT_EQ(fake_->state().paired_count(), 0U);
    EXPECT_THROW((void)handler->credentials(), Error);
    run(io_, handler->close());
}

TEST_F(MrpLoopback, BackOffTellsHowLongToWait) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::back_off;
    config.back_off = 42s;
    start_fake(config);
    auto handler = make_handler();
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::back_off);
    EXPECT_TRUE(contains(error, "wait 42 seconds")) << error.what();
    run(io_, handler->close());
}

TEST_F(MrpLoopback, WrongDeviceProofFailsPairing) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::wrong_proof;
    start_fake(config);
    auto handler = make_handler();
    run(io_, handler->begin());
    handler->pin("1234");
    const Error error = expect_error([&] { run(io_, handler->finish()); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_TRUE(contains(error, "proof")) << error.what();
    EXPECT_FALSE(handler->has_paired());
    EXPECT_EQ(fake_->state().paired_count(), 0U);
}

TEST_F(MrpLoopback, StalledSetupTimesOutWithinTheStepTimeout) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::stall_setup;
    start_fake(config);
    auto handler = make_handler();
    handler->set_step_timeout(300ms);
    const auto started = std::chrono::steady_clock::now();
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
    EXPECT_TRUE(contains(error, "did not answer CRYPTO_PAIRING_MESSAGE")) << error.what();
    EXPECT_GE(elapsed, 300ms);
    EXPECT_LT(elapsed, 2s);
}

TEST_F(MrpLoopback, DroppedHandshakeFailsPairingAndConnecting) {
    start_fake();
    const std::string credentials = pair();
    stop_fake();

    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::drop_handshake;
    start_fake(config);
    auto handler = make_handler();
    const Error pairing = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(pairing.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(pairing, "closed the MRP connection")) << pairing.what();

    const Error connecting = expect_error([&] { (void)connect(credentials); });
    EXPECT_EQ(connecting.kind(), ErrorKind::connection_failed);
}

TEST_F(MrpLoopback, RejectedCredentialsAskToPairAgain) {
    const auto state_file = temp_state_file();
    FakeAtvConfig config;
    config.state_file = state_file.string();
    start_fake(config);
    const std::string credentials = pair();
    stop_fake();

    config.misbehaviour = Misbehaviour::reject_credentials;
    start_fake(config);
    const Error error = expect_error([&] { (void)connect(credentials); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    EXPECT_TRUE(contains(error, "pair again")) << error.what();
    std::filesystem::remove(state_file);
}

TEST_F(MrpLoopback, CredentialsOfAnotherDeviceAreRejected) {
    FakeAtvConfig other;
    other.name = "Other";
    start_fake(other);
    const std::string foreign = pair();
    stop_fake();

    start_fake();
    const Error error = expect_error([&] { (void)connect(foreign); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    EXPECT_TRUE(contains(error, "pair again")) << error.what();
}

TEST_F(MrpLoopback, StateFileRemembersPairedClients) {
    const auto state_file = temp_state_file();
    FakeAtvConfig config;
    config.state_file = state_file.string();
    start_fake(config);
    const std::string credentials = pair();
    stop_fake();

    start_fake(config);
    EXPECT_EQ(fake_->state().paired_count(), 1U);
    auto connection = connect(credentials);
    run(io_, connection->close());
    EXPECT_EQ(std::filesystem::status(state_file).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::remove(state_file);
}

TEST_F(MrpLoopback, ClosedPortIsAConnectionFailure) {
    start_fake();
    const std::uint16_t port = fake_->port();
    stop_fake();
    MrpPairingHandler handler(io_.get_executor(), "127.0.0.1", port,
                              hap::ClientIdentity::generate(), PairingOptions{});
    const Error error = expect_error([&] { run(io_, handler.begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
}

TEST_F(MrpLoopback, DroppedConnectionIsReportedOnce) {
    start_fake();
    auto connection = connect(pair());
    const LossRecorder losses(*connection);
    fake_->drop_connections();
    losses.await(io_);
    EXPECT_EQ(losses.count(), 1);
    EXPECT_TRUE(losses.reason().find("closed the MRP connection") != std::string::npos ||
                losses.reason().find("broke") != std::string::npos)
        << losses.reason();
    run(io_, connection->close());
    EXPECT_EQ(losses.count(), 1);
}

TEST_F(MrpLoopback, LossBeforeTheHandlerIsSetIsStillReported) {
    start_fake();
    auto connection = connect(pair());
    fake_->drop_connections();
    run_until(io_, [&] { return !connection->channel().is_open(); });
    const LossRecorder losses(*connection);
    losses.await(io_, 100ms);
    EXPECT_EQ(losses.count(), 1);
    const Error error =
        expect_error([&] { (void)run(io_, connection->channel().request(heartbeat())); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    run(io_, connection->close());
}

TEST_F(MrpLoopback, SilentDeviceIsNoticedByHeartbeats) {
    start_fake();
    MrpConnectOptions options;
    options.heartbeat_interval = 100ms;
    auto connection = connect(pair(), options);
    const LossRecorder losses(*connection);
    // Answered heartbeats keep the connection up.
    run_for(io_, 400ms);
    EXPECT_EQ(losses.count(), 0);
    fake_->state().answer_heartbeats = false;
    losses.await(io_);
    EXPECT_EQ(losses.count(), 1);
    EXPECT_NE(losses.reason().find("heartbeats"), std::string::npos) << losses.reason();
    run(io_, connection->close());
}

TEST_F(MrpLoopback, CloseLeavesNothingOpenAndReportsNoLoss) {
    start_fake();
    MrpConnectOptions options;
    options.heartbeat_interval = 50ms;
    auto connection = connect(pair(), options);
    const LossRecorder losses(*connection);
    run_for(io_, 150ms);
    run(io_, connection->close());
    run(io_, connection->close());  // idempotent
    EXPECT_THROW(connection->channel().send(heartbeat()), Error);
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0U);
    run_for(io_, 200ms);
    EXPECT_EQ(losses.count(), 0);
}

TEST_F(MrpLoopback, DestroyingWithoutCloseStillClosesTheSocket) {
    start_fake();
    auto connection = connect(pair());
    auto handler = make_handler();
    run(io_, handler->begin());
    run_until(io_, [&] { return fake_->open_connections() == 2; });
    EXPECT_EQ(fake_->open_connections(), 2U);
    connection.reset();
    handler.reset();
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0U);
}

TEST_F(MrpLoopback, UnsolicitedMessagesReachTheMessageHandler) {
    start_fake();
    auto connection = connect(pair());
    int unsolicited = 0;
    connection->channel().on_message([&](const ProtocolMessage& message) {
        EXPECT_EQ(message.type(), ProtocolMessage::GENERIC_MESSAGE);
        ++unsolicited;
    });
    // A request sent without waiting: its reply arrives with nobody waiting for it.
    connection->channel().send(heartbeat());
    run_until(io_, [&] { return unsolicited > 0; });
    EXPECT_EQ(unsolicited, 1);
    run(io_, connection->close());
}

TEST_F(MrpLoopback, CloseDuringBeginEndsItCleanly) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::stall_setup;
    start_fake(config);
    auto handler = make_handler();
    std::optional<ErrorKind> begin_error;
    bool begin_done = false;
    asio::co_spawn(io_, handler->begin(), [&](std::exception_ptr error) {
        try {
            if (error) {
                std::rethrow_exception(error);
            }
        } catch (const Error& e) {
            begin_error = e.kind();
        }
        begin_done = true;
    });
    // begin() now waits for the stalled M2.
    run_until(io_, [&] { return fake_->open_connections() == 1; });
    run(io_, handler->close());
    run_until(io_, [&] { return begin_done; });
    ASSERT_TRUE(begin_done);
    EXPECT_EQ(begin_error, ErrorKind::connection_failed);
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0U);
}

TEST_F(MrpLoopback, PairingCloseAbortsAnOpenPairing) {
    start_fake();
    auto handler = make_handler();
    run(io_, handler->begin());
    run_until(io_, [&] { return fake_->open_connections() == 1; });
    EXPECT_EQ(fake_->open_connections(), 1U);
    run(io_, handler->close());
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0U);
    EXPECT_THROW(handler->pin("1234"), Error);
    const Error error = expect_error([&] { run(io_, handler->finish()); });
    EXPECT_EQ(error.kind(), ErrorKind::invalid_state);
}

}  // namespace
}  // namespace atv::mrp
