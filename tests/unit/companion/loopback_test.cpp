// CompanionPairingHandler and connect_companion against the fake Companion accessory over real
// TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "atv/error.hpp"
#include "companion/connection.hpp"
#include "companion/pairing.hpp"
#include "fake_companion.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "run_coroutine.hpp"

namespace atv::companion {
namespace {

using namespace std::chrono_literals;
using fakes::FakeAtvConfig;
using fakes::FakeAtvState;
using fakes::FakeCompanion;
using fakes::Misbehaviour;

using fakes::run;

void run_until(asio::io_context& io, const std::function<bool()>& condition,
               std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_one_for(20ms);
    }
}

template <typename Body>
Error expect_error(Body body) {
    try {
        body();
    } catch (const Error& error) {
        return error;
    }
    ADD_FAILURE() << "no atv::Error was thrown";
    return Error(ErrorKind::not_found, "");
}

bool contains(const Error& error, const std::string& text) {
    return std::string(error.what()).find(text) != std::string::npos;
}

class CompanionLoopback : public ::testing::Test {
  protected:
    void start_fake(FakeAtvConfig config = {}) {
        if (config.pin.empty())
            config.pin = "1234";
        state_ = std::make_unique<FakeAtvState>(std::move(config));
        fake_ = std::make_unique<FakeCompanion>(io_.get_executor(), *state_);
        fake_->start();
    }

    void TearDown() override {
        if (fake_)
            run(io_, fake_->stop());
    }

    std::unique_ptr<CompanionPairingHandler> make_handler() {
        auto handler = std::make_unique<CompanionPairingHandler>(
            io_.get_executor(), "127.0.0.1", fake_->port(), hap::ClientIdentity::generate(),
            PairingOptions{});
        handler->set_step_timeout(1000ms);
        return handler;
    }

    std::string pair(const std::string& pin = "1234") {
        auto handler = make_handler();
        run(io_, handler->begin());
        handler->pin(pin);
        run(io_, handler->finish());
        EXPECT_TRUE(handler->has_paired());
        run(io_, handler->close());
        return handler->credentials();
    }

    std::unique_ptr<CompanionConnection> connect(const std::string& credentials) {
        return run(io_, connect_companion(io_.get_executor(), "127.0.0.1", fake_->port(),
                                          hap::HapCredentials::parse(credentials), 2000ms,
                                          CompanionConnectOptions{}));
    }

    bool fake_saw(const std::string& identifier) const {
        const auto& seen = fake_->messages_seen();
        return std::find(seen.begin(), seen.end(), identifier) != seen.end();
    }

    asio::io_context io_;
    std::unique_ptr<FakeAtvState> state_;
    std::unique_ptr<FakeCompanion> fake_;
};

TEST_F(CompanionLoopback, PairsWithTheRightPinAndSendsTheName) {
    start_fake();
    const std::string credentials = pair();
    EXPECT_EQ(hap::credentials_type(credentials), hap::CredentialsType::hap);
    EXPECT_EQ(state_->paired_count(), 1u);
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0u);
}

TEST_F(CompanionLoopback, WrongPinFailsPlainly) {
    start_fake();
    auto handler = make_handler();
    run(io_, handler->begin());
    handler->pin("0000");
    const Error error = expect_error([&] { run(io_, handler->finish()); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_TRUE(contains(error, "PIN was wrong")) << error.what();
    EXPECT_FALSE(handler->has_paired());
    EXPECT_EQ(state_->paired_count(), 0u);
}

TEST_F(CompanionLoopback, BackOffIsReportedAtBegin) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::back_off;
    start_fake(config);
    auto handler = make_handler();
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::back_off);
}

TEST_F(CompanionLoopback, StalledDeviceTimesOut) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::stall_setup;
    start_fake(config);
    auto handler = make_handler();
    handler->set_step_timeout(200ms);
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
}

TEST_F(CompanionLoopback, ConnectsWithTheCredentialsAndIntroducesItself) {
    start_fake();
    const std::string credentials = pair();
    auto connection = connect(credentials);
    EXPECT_EQ(connection->protocol(), Protocol::companion);
    EXPECT_EQ(connection->session_id() >> 32, 0x12345678u);
    run_until(io_, [&] { return fake_saw("_interest"); });
    EXPECT_TRUE(fake_saw("_systemInfo"));
    EXPECT_TRUE(fake_saw("_sessionStart"));
    EXPECT_TRUE(fake_saw("_interest"));
    // The encrypted session carries further requests; an unknown one is refused as an error.
    const auto attention =
        run(io_, connection->channel().request("FetchAttentionState", OpackDict{}));
    EXPECT_EQ(attention.int_at("state"), 3);
    const Error refused =
        expect_error([&] { run(io_, connection->channel().request("_noSuchThing", OpackDict{})); });
    EXPECT_EQ(refused.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(refused, "No request handler"));
    run(io_, connection->close());
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0u);
    run(io_, connection->close());  // idempotent
}

TEST_F(CompanionLoopback, RejectedCredentialsFailAuthentication) {
    start_fake();
    const std::string credentials = pair();
    run(io_, fake_->stop());
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::reject_credentials;
    start_fake(config);
    const Error error = expect_error([&] { connect(credentials); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
}

TEST_F(CompanionLoopback, UnknownClientFailsAuthentication) {
    start_fake();
    const std::string credentials = pair();
    run(io_, fake_->stop());
    start_fake();  // a fresh state that never paired this client
    const Error error = expect_error([&] { connect(credentials); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
}

TEST_F(CompanionLoopback, LossIsReportedOnce) {
    start_fake();
    auto connection = connect(pair());
    int losses = 0;
    std::string reason;
    connection->on_lost([&](const std::string& why) {
        ++losses;
        reason = why;
    });
    fake_->drop_connections();
    run_until(io_, [&] { return losses > 0; });
    run_until(
        io_, [] { return false; }, 200ms);
    EXPECT_EQ(losses, 1);
    EXPECT_FALSE(reason.empty());
    run(io_, connection->close());
}

TEST_F(CompanionLoopback, NoLossReportAfterClose) {
    start_fake();
    auto connection = connect(pair());
    int losses = 0;
    connection->on_lost([&](const std::string&) { ++losses; });
    run(io_, connection->close());
    fake_->drop_connections();
    run_until(
        io_, [] { return false; }, 200ms);
    EXPECT_EQ(losses, 0);
}

TEST_F(CompanionLoopback, RefusedPortIsConnectionFailed) {
    start_fake();
    const std::uint16_t port = fake_->port();
    const std::string credentials = pair();
    run(io_, fake_->stop());
    fake_.reset();
    const Error error = expect_error([&] {
        run(io_, connect_companion(io_.get_executor(), "127.0.0.1", port,
                                   hap::HapCredentials::parse(credentials), 1000ms));
    });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(error, "Companion"));
}

}  // namespace
}  // namespace atv::companion
