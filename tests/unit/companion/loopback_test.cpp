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
#include <vector>

#include "atv/atv.hpp"
#include "atv/error.hpp"
#include "companion/auth.hpp"
#include "companion/connection.hpp"
#include "companion/control.hpp"
#include "companion/pairing.hpp"
#include "connection_steps.hpp"
#include "expect_error.hpp"
#include "fake_companion.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "run_coroutine.hpp"
#include "support/tcp.hpp"

namespace atv::companion {
namespace {

using namespace std::chrono_literals;
using fakes::FakeAtvConfig;
using fakes::FakeAtvState;
using fakes::FakeCompanion;
using fakes::Misbehaviour;

using fakes::contains;
using fakes::expect_error;
using fakes::LossRecorder;
using fakes::run;
using fakes::run_for;
using fakes::run_until;

// A started channel to the fake, with nothing sent yet.
asio::awaitable<std::shared_ptr<CompanionChannel>> open_channel(asio::any_io_executor executor,
                                                                std::uint16_t port) {
    const std::string address = "127.0.0.1";
    auto socket =
        co_await connect_tcp(std::move(executor), address, port, 1000ms, "the Companion service");
    auto channel = CompanionChannel::create(std::move(socket));
    channel->start();
    co_return channel;
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

    void start_fake_that(Misbehaviour misbehaviour) {
        FakeAtvConfig config;
        config.misbehaviour = misbehaviour;
        start_fake(std::move(config));
    }

    void TearDown() override {
        if (fake_)
            run(io_, fake_->stop());
    }

    std::unique_ptr<CompanionPairingHandler> make_handler() {
        auto handler = std::make_unique<CompanionPairingHandler>(
            io_.get_executor(), "127.0.0.1", fake_->port(), identity_, PairingOptions{});
        handler->set_step_timeout(1000ms);
        return handler;
    }

    std::string pair(const std::string& pin = "1234") {
        return fakes::pair_with_pin(io_, *make_handler(), pin);
    }

    [[nodiscard]] std::string remote_id() const {
        return remote_id_for(identity_.client_id, identity_.keys.seed.view());
    }

    CompanionConnectOptions options() const {
        CompanionConnectOptions options;
        options.remote_id = remote_id();
        return options;
    }

    std::unique_ptr<CompanionConnection> connect(const std::string& credentials,
                                                 CompanionConnectOptions options,
                                                 std::chrono::milliseconds timeout = 2000ms) {
        return run(io_, connect_companion(io_.get_executor(), "127.0.0.1", fake_->port(),
                                          hap::HapCredentials::parse(credentials), timeout,
                                          std::move(options)));
    }

    std::unique_ptr<CompanionConnection> connect(const std::string& credentials) {
        return connect(credentials, options());
    }

    // Pairs, then has the fake answer later connections as `quirks` say.
    std::string pair_with_quirks(fakes::FakeCompanionQuirks quirks) {
        const std::string credentials = pair();
        fake_->set_quirks(std::move(quirks));
        return credentials;
    }

    // A connection to a device that never answers the stop message `stalled`.
    std::unique_ptr<CompanionConnection> connect_with_stalled_stop(
        std::chrono::milliseconds stop_timeout, const std::string& stalled = "_sessionStop") {
        fakes::FakeCompanionQuirks quirks;
        quirks.unanswered.insert(stalled);
        const std::string credentials = pair_with_quirks(quirks);
        CompanionConnectOptions connect_options = options();
        connect_options.session_stop_timeout = stop_timeout;
        return connect(credentials, connect_options);
    }

    // Close waits for the stalled stop message once, for its timeout, then closes anyway.
    void expect_close_waits_once_for(const std::string& stalled) {
        auto connection = connect_with_stalled_stop(300ms, stalled);
        const auto started = std::chrono::steady_clock::now();
        run(io_, connection->close());
        const auto took = std::chrono::steady_clock::now() - started;
        EXPECT_GE(took, 250ms);
        EXPECT_LT(took, 2000ms);
        EXPECT_TRUE(fake_saw(stalled));
        expect_fake_connections_closed();
    }

    void expect_fake_connections_closed() {
        run_until(io_, [&] { return fake_->open_connections() == 0; });
        EXPECT_EQ(fake_->open_connections(), 0u);
    }

    // The identifiers the fake received, in order.
    [[nodiscard]] std::vector<std::string> identifiers() const { return fake_->messages_seen(); }

    // The `_regEvents` or `_deregEvents` items of every _interest event, in order.
    [[nodiscard]] std::vector<std::string> interests(const std::string& key) const {
        std::vector<std::string> events;
        for (const auto& message : fake_->messages()) {
            const OpackValue* list =
                message.identifier == "_interest" ? message.content.find(key) : nullptr;
            if (list == nullptr)
                continue;
            for (const OpackValue& item : *list->get_if<OpackArray>())
                events.push_back(*item.get_if<std::string>());
        }
        return events;
    }

    bool fake_saw(const std::string& identifier) const {
        const auto& seen = fake_->messages_seen();
        return std::find(seen.begin(), seen.end(), identifier) != seen.end();
    }

    asio::io_context io_;
    hap::ClientIdentity identity_ = hap::ClientIdentity::generate();
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
    start_fake_that(Misbehaviour::back_off);
    auto handler = make_handler();
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::back_off);
}

TEST_F(CompanionLoopback, StalledDeviceTimesOut) {
    start_fake_that(Misbehaviour::stall_setup);
    auto handler = make_handler();
    handler->set_step_timeout(200ms);
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
}

TEST_F(CompanionLoopback, CloseEndsAStepStalledOnTheDevice) {
    start_fake_that(Misbehaviour::stall_setup);
    auto handler = make_handler();
    handler->set_step_timeout(20000ms);
    std::optional<Error> begin_error;
    bool begin_done = false;
    asio::co_spawn(io_, handler->begin(), [&](std::exception_ptr error) {
        try {
            if (error)
                std::rethrow_exception(error);
        } catch (const Error& failure) {
            begin_error = failure;
        }
        begin_done = true;
    });
    run_until(io_, [&] { return fake_->open_connections() == 1; });
    run_for(io_, 100ms);  // M1 is out and unanswered
    const auto started = std::chrono::steady_clock::now();
    run(io_, handler->close());
    run_until(io_, [&] { return begin_done; });
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
    ASSERT_TRUE(begin_done);
    ASSERT_TRUE(begin_error.has_value());
    EXPECT_NE(begin_error->kind(), ErrorKind::timeout);
    run(io_, handler->close());  // closing twice is harmless
}

TEST_F(CompanionLoopback, ConnectsWithTheCredentialsAndIntroducesItself) {
    start_fake();
    const std::string credentials = pair();
    auto connection = connect(credentials);
    EXPECT_EQ(connection->protocol(), Protocol::companion);
    EXPECT_EQ(connection->session_id() >> 32, fakes::fake_companion_session);
    run_until(io_, [&] { return identifiers().size() >= 9; });
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
    start_fake_that(Misbehaviour::reject_credentials);
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
    const LossRecorder losses(*connection);
    fake_->drop_connections();
    losses.await(io_);
    EXPECT_EQ(losses.count(), 1);
    EXPECT_FALSE(losses.reason().empty());
    run(io_, connection->close());
}

TEST_F(CompanionLoopback, NoLossReportAfterClose) {
    start_fake();
    auto connection = connect(pair());
    const LossRecorder losses(*connection);
    run(io_, connection->close());
    fake_->drop_connections();
    run_for(io_, 200ms);
    EXPECT_EQ(losses.count(), 0);
}

TEST_F(CompanionLoopback, RefusedPortIsConnectionFailed) {
    start_fake();
    const std::uint16_t port = fake_->port();
    const std::string credentials = pair();
    run(io_, fake_->stop());
    fake_.reset();
    const Error error = expect_error([&] {
        run(io_, connect_companion(io_.get_executor(), "127.0.0.1", port,
                                   hap::HapCredentials::parse(credentials), 1000ms, remote_id()));
    });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(error, "Companion"));
}

TEST_F(CompanionLoopback, IntroducesItselfAsARemoteDoes) {
    start_fake();
    auto connection = connect(pair());
    run_until(io_, [&] { return identifiers().size() >= 9; });
    const std::vector<std::string> expected{"_systemInfo",         "_touchStart", "_sessionStart",
                                            "TVRCSessionStart",    "_tiStart",    "_interest",
                                            "FetchAttentionState", "_interest",   "_interest"};
    EXPECT_EQ(identifiers(), expected);
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
    EXPECT_EQ(interests("_regEvents"),
              (std::vector<std::string>{"_iMC", "SystemStatus", "TVSystemStatus"}));

    const fakes::CompanionMessage& info = fake_->messages().front();
    EXPECT_EQ(info.content.string_at("_i"), remote_id());
    EXPECT_EQ(info.content.int_at("_cf"), 512);
    EXPECT_EQ(info.content.string_at("_sv"), "170.18");
    const Bytes client_id(identity_.client_id.begin(), identity_.client_id.end());
    EXPECT_EQ(info.content.bytes_at("_idsID"), client_id);
    const fakes::CompanionMessage& touch = fake_->messages()[1];
    const double* width = touch.content.find("_width")->get_if<double>();
    ASSERT_NE(width, nullptr);
    EXPECT_EQ(*width, 1000.0);
    const fakes::CompanionMessage& start = fake_->messages()[2];
    EXPECT_EQ(start.content.string_at("_srvT"), "com.apple.tvremoteservices");
    EXPECT_EQ(static_cast<std::uint32_t>(*start.content.int_at("_sid")),
              static_cast<std::uint32_t>(connection->session_id()));
    EXPECT_EQ(fake_->messages()[3].content.string_at("ProtocolVersionKey"), "1.2");
    EXPECT_EQ(connection->attention(), AttentionState::awake);
    run(io_, connection->close());
}

TEST_F(CompanionLoopback, CloseStopsTheSessionBeforeTheSocketCloses) {
    start_fake();
    std::vector<std::uint64_t> stopped;
    fake_->on_session_stop([&](std::uint64_t session) { stopped.push_back(session); });
    auto connection = connect(pair());
    const std::uint64_t session = connection->session_id();
    run(io_, connection->close());
    // The fake answered each, so they arrived while the connection was open.
    ASSERT_EQ(stopped, std::vector<std::uint64_t>{session});
    const std::vector<std::string> seen = identifiers();
    const std::vector<std::string> goodbye{"_sessionStop", "_touchStop", "_tiStop"};
    ASSERT_GE(seen.size(), goodbye.size());
    EXPECT_EQ(std::vector<std::string>(seen.end() - 3, seen.end()), goodbye);
    EXPECT_EQ(interests("_deregEvents"),
              (std::vector<std::string>{"_iMC", "SystemStatus", "TVSystemStatus"}));
    const auto& messages = fake_->messages();
    EXPECT_EQ(messages[messages.size() - 3].content.string_at("_srvT"),
              "com.apple.tvremoteservices");
    EXPECT_EQ(messages[messages.size() - 2].content.int_at("_i"), 1);
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
    expect_fake_connections_closed();
    run(io_, connection->close());
    EXPECT_EQ(stopped.size(), 1u);  // a second close sends nothing
}

TEST_F(CompanionLoopback, NoSessionStopAfterTheDeviceLeft) {
    start_fake();
    auto connection = connect(pair());
    fake_->drop_connections();
    run_until(io_, [&] { return !connection->channel().is_open(); });
    const auto started = std::chrono::steady_clock::now();
    run(io_, connection->close());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
    EXPECT_FALSE(fake_saw("_sessionStop"));
}

TEST_F(CompanionLoopback, CloseWaitsBoundedlyForAStalledDevice) {
    start_fake();
    expect_close_waits_once_for("_sessionStop");
}

TEST_F(CompanionLoopback, CloseWaitsOnceForADeviceStallingOnTheLastStop) {
    start_fake();
    expect_close_waits_once_for("_tiStop");
}

TEST_F(CompanionLoopback, CloseGoesOnPastStopsTheDeviceHasNoHandlerFor) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.refused = {"_sessionStop", "_touchStop"};
    auto connection = connect(pair_with_quirks(quirks));
    run(io_, connection->close());
    EXPECT_TRUE(fake_saw("_touchStop"));
    EXPECT_TRUE(fake_saw("_tiStop"));
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
    expect_fake_connections_closed();
}

TEST_F(CompanionLoopback, ASecondCloseCutsTheWaitForAStalledDeviceShort) {
    start_fake();
    auto connection = connect_with_stalled_stop(20000ms);
    bool first_done = false;
    asio::co_spawn(io_, connection->close(), [&](std::exception_ptr) { first_done = true; });
    run_until(io_, [&] { return fake_saw("_sessionStop"); });
    ASSERT_TRUE(fake_saw("_sessionStop"));
    EXPECT_FALSE(first_done);
    const auto started = std::chrono::steady_clock::now();
    run(io_, connection->close());
    run_until(io_, [&] { return first_done; });
    EXPECT_TRUE(first_done);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
}

TEST_F(CompanionLoopback, OlderDevicesWithoutHandlersStillConnect) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.refused = {"TVRCSessionStart", "FetchAttentionState"};
    const std::string credentials = pair_with_quirks(quirks);
    auto connection = connect(credentials);
    EXPECT_FALSE(connection->attention().has_value());
    EXPECT_TRUE(fake_saw("_tiStart"));
    run_until(io_, [&] { return interests("_regEvents").size() == 3; });
    EXPECT_EQ(interests("_regEvents").size(), 3u);
    run(io_, connection->close());
}

TEST_F(CompanionLoopback, ARefusedSessionFailsTheConnect) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.refused.insert("_sessionStart");
    const std::string credentials = pair_with_quirks(quirks);
    const Error error = expect_error([&] { connect(credentials); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(error, "_sessionStart")) << error.what();
    expect_fake_connections_closed();
}

TEST_F(CompanionLoopback, AStalledIntroductionTimesOut) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.unanswered.insert("_touchStart");
    const std::string credentials = pair_with_quirks(quirks);
    const auto started = std::chrono::steady_clock::now();
    const Error error = expect_error([&] { connect(credentials, options(), 300ms); });
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
    EXPECT_TRUE(contains(error, "_touchStart")) << error.what();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
}

TEST_F(CompanionLoopback, AConnectFailingAfterTextInputStartedStopsIt) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.unanswered.insert("FetchAttentionState");
    const std::string credentials = pair_with_quirks(quirks);
    const Error error = expect_error([&] { connect(credentials, options(), 300ms); });
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
    EXPECT_TRUE(fake_saw("_tiStop"));
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
    expect_fake_connections_closed();
}

TEST_F(CompanionLoopback, AConnectFailingBeforeTextInputSendsNoStop) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.unanswered.insert("_touchStart");
    const std::string credentials = pair_with_quirks(quirks);
    expect_error([&] { connect(credentials, options(), 300ms); });
    EXPECT_FALSE(fake_saw("_tiStop"));
}

TEST_F(CompanionLoopback, ConnectNeedsARemoteId) {
    start_fake();
    const std::string credentials = pair();
    const Error error = expect_error([&] { connect(credentials, CompanionConnectOptions{}); });
    EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
}

TEST_F(CompanionLoopback, TheFakeRefusesAnIntroductionOutOfOrder) {
    start_fake();
    const auto credentials = hap::HapCredentials::parse(pair());
    auto channel = run(io_, open_channel(io_.get_executor(), fake_->port()));
    run(io_, verify_and_encrypt(*channel, credentials, 1000ms));
    const OpackValue start = OpackDict{{"_srvT", "com.apple.tvremoteservices"}, {"_sid", 1}};
    const Error error = expect_error([&] { run(io_, channel->request("_sessionStart", start)); });
    EXPECT_TRUE(contains(error, "before _systemInfo")) << error.what();
    EXPECT_EQ(fake_->violations().size(), 1u);
    run(io_, channel->close());
}

// A device reads `_x` from every message: each one, events included, carries the next id of the
// connection's counter, and the `_iMC` flags the interest asks for come back.
TEST_F(CompanionLoopback, EveryMessageCarriesATransactionIdAndTheMediaControlFlagsComeBack) {
    start_fake();
    auto connection = connect(pair());
    run_until(io_, [&] { return connection->media_control_flags().has_value(); });
    EXPECT_EQ(connection->media_control_flags(), fakes::fake_media_control_flags);
    run(io_, connection->close());
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
    const auto& messages = fake_->messages();
    ASSERT_GE(messages.size(), 15u);  // introduction, interests withdrawn, goodbye
    for (std::size_t i = 0; i < messages.size(); ++i) {
        ASSERT_TRUE(messages[i].transaction.has_value()) << messages[i].identifier;
        if (i > 0) {
            EXPECT_EQ(*messages[i].transaction, (*messages[i - 1].transaction + 1) % 65536)
                << messages[i].identifier << " does not take the next id of the counter";
        }
    }
    EXPECT_EQ(std::count_if(messages.begin(), messages.end(),
                            [](const fakes::CompanionMessage& message) {
                                return message.identifier == "_interest";
                            }),
              6);
}

// The fake is as strict as a device: a message without a fresh `_x` is refused.
TEST_F(CompanionLoopback, TheFakeRefusesMessagesWithoutAFreshTransactionId) {
    start_fake();
    auto connection = connect(pair());
    CompanionChannel& channel = connection->channel();
    std::vector<OpackValue> received;
    channel.on_event([&received](const OpackValue& message) { received.push_back(message); });
    const auto send_raw = [&channel](OpackDict message) {
        channel.send_frame(FrameType::e_opack, opack_encode(OpackValue(std::move(message))));
    };
    const auto media_control_interest = [] {
        return OpackDict{{"_regEvents", OpackArray{"_iMC"}}};
    };

    // An event without `_x` is dropped: no flags come back.
    send_raw(OpackDict{{"_i", "_interest"}, {"_t", 1}, {"_c", media_control_interest()}});
    run_for(io_, 200ms);
    EXPECT_TRUE(received.empty());
    // A request without `_x` is answered with an error, which carries no `_x` either.
    send_raw(OpackDict{{"_i", "FetchAttentionState"}, {"_t", 2}, {"_c", OpackDict{}}});
    run_until(io_, [&] { return !received.empty(); });
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].int_at("_t"), 3);
    EXPECT_EQ(received[0].find("_x"), nullptr);
    EXPECT_TRUE(received[0].string_at("_em").value_or("").find("_x") != std::string::npos);
    // An `_x` used before on the connection is no transaction of its own.
    const std::int64_t used = *fake_->messages().front().transaction;
    send_raw(
        OpackDict{{"_i", "_interest"}, {"_t", 1}, {"_c", media_control_interest()}, {"_x", used}});
    run_for(io_, 200ms);
    EXPECT_EQ(received.size(), 1u);
    EXPECT_EQ(
        fake_->violations(),
        (std::vector<std::string>{"_interest came without a transaction id (_x)",
                                  "FetchAttentionState came without a transaction id (_x)",
                                  "_interest reused transaction id (_x) " + std::to_string(used)}));

    // The same interest sent properly brings the flags.
    channel.send_event("_interest", media_control_interest());
    run_until(io_, [&] { return received.size() == 2; });
    ASSERT_EQ(received.size(), 2u);
    EXPECT_EQ(received[1].string_at("_i"), "_iMC");
    const OpackValue* content = received[1].find("_c");
    ASSERT_NE(content, nullptr);
    EXPECT_EQ(content->int_at("_mcF"), fakes::fake_media_control_flags);
    run(io_, connection->close());
}

TEST(CompanionRemoteId, IsStablePerIdentityAndDiffersBetweenThem) {
    const hap::ClientIdentity one = hap::ClientIdentity::generate();
    const hap::ClientIdentity other = hap::ClientIdentity::generate();
    const std::string id = remote_id_for(one.client_id, one.keys.seed.view());
    EXPECT_EQ(id.size(), 12u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(remote_id_for(one.client_id, one.keys.seed.view()), id);
    EXPECT_NE(remote_id_for(other.client_id, other.keys.seed.view()), id);
    EXPECT_NE(remote_id_for(one.client_id, other.keys.seed.view()), id);
}

// Through the facade, as the daemon connects: `_i` comes from the installation's Identity.
class CompanionFacade : public CompanionLoopback {
  protected:
    DeviceConfig device(PairingRequirement pairing = PairingRequirement::mandatory) const {
        DeviceConfig config;
        config.name = "Fake Apple TV";
        config.address = "127.0.0.1";
        ServiceConfig service;
        service.protocol = Protocol::companion;
        service.port = fake_->port();
        service.identifier = "fake-companion-id";
        service.pairing = pairing;
        config.services = {service};
        return config;
    }

    std::string pair_through_facade(const Identity& identity) {
        auto handler = atv::pair(io_.get_executor(), device(), Protocol::companion,
                                 PairingOptions{}, identity);
        run(io_, handler->begin());
        handler->pin("1234");
        run(io_, handler->finish());
        run(io_, handler->close());
        return handler->credentials();
    }

    // `_i` of the _systemInfo of one connect and close through the facade.
    std::string remote_id_sent(const Identity& identity, const std::string& credentials) {
        const CredentialsMap map{{Protocol::companion, credentials}};
        auto connection = run(io_, atv::connect(device(), map, identity, 2000ms));
        run(io_, connection->close());
        std::string sent;
        for (const auto& message : fake_->messages()) {
            if (message.identifier == "_systemInfo")
                sent = message.content.string_at("_i").value_or("");
        }
        return sent;
    }

    static Identity make_identity() {
        const hap::ClientIdentity generated = hap::ClientIdentity::generate();
        return Identity{generated.client_id, generated.keys.seed};
    }
};

TEST_F(CompanionFacade, RemoteIdIsTheSameOnEveryConnectWithOneIdentity) {
    start_fake();
    const Identity identity = make_identity();
    const std::string credentials = pair_through_facade(identity);
    const std::string first = remote_id_sent(identity, credentials);
    const std::string second = remote_id_sent(identity, credentials);
    EXPECT_EQ(first.size(), 12u);
    EXPECT_EQ(first, second);
    EXPECT_EQ(first, remote_id_for(identity.client_id, identity.seed.view()));
    // Another installation (identity) presents another id with the same credentials.
    EXPECT_NE(remote_id_sent(make_identity(), credentials), first);
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

// rpFl decides the requirement (protocols.md §2); only a pairable service can be paired.
TEST_F(CompanionFacade, PairingIsRefusedWhenRpFlSaysItIsNotPossible) {
    start_fake();
    for (const auto requirement : {PairingRequirement::disabled, PairingRequirement::unsupported}) {
        const Error error = expect_error([&] {
            atv::pair(io_.get_executor(), device(requirement), Protocol::companion,
                      PairingOptions{}, make_identity());
        });
        EXPECT_EQ(error.kind(), ErrorKind::not_supported);
        EXPECT_TRUE(contains(error, "companion")) << error.what();
    }
    EXPECT_EQ(state_->paired_count(), 0u);
}

// The device's power state through the facade, as the daemon sees it: Companion serves it.
TEST_F(CompanionFacade, TheConnectionsControlServesPowerOverCompanion) {
    start_fake();
    const Identity identity = make_identity();
    const std::string credentials = pair_through_facade(identity);
    fake_->device().set_power(false);
    const CredentialsMap map{{Protocol::companion, credentials}};
    auto connection = run(io_, atv::connect(device(), map, identity, 2000ms));
    Control& control = connection->control();
    EXPECT_EQ(control.power_state(), PowerState::off);
    EXPECT_EQ(control.features()[Feature::turn_on], FeatureState::available);
    run(io_, control.turn_on());
    EXPECT_TRUE(run_until(io_, [&] { return control.power_state() == PowerState::on; }));
    run(io_, connection->close());
}

// ---- CompanionControl ----

class CompanionControlTest : public CompanionLoopback {
  protected:
    // Pairs with a started fake and connects; `quirks` and `control_options` as given.
    CompanionControl& connect_control(fakes::FakeCompanionQuirks quirks = {},
                                      CompanionControlOptions control_options = {}) {
        const std::string credentials = pair_with_quirks(std::move(quirks));
        CompanionConnectOptions connect_options = options();
        connect_options.control = control_options;
        connection_ = connect(credentials, connect_options);
        auto* control = connection_->control();
        EXPECT_NE(control, nullptr);
        EXPECT_EQ(static_cast<ProtocolConnection&>(*connection_).control(), control);
        ControlEvents events;
        events.power_state = [this](PowerState state) { power_events_.push_back(state); };
        events.features = [this](const FeatureMap& features) {
            feature_events_.push_back(features);
        };
        events.volume = [this](std::optional<double> level) { volume_events_.push_back(level); };
        events.focus_state = [this](FocusState focus) { focus_events_.push_back(focus); };
        control->set_events(std::move(events));
        // The interests follow the introduction's last answer: the device pushes once it has them.
        EXPECT_TRUE(run_until(io_, [&] {
            const auto registered = interests("_regEvents");
            return std::find(registered.begin(), registered.end(), "TVSystemStatus") !=
                   registered.end();
        }));
        return *control;
    }

    void TearDown() override {
        if (connection_)
            run(io_, connection_->close());
        connection_.reset();
        CompanionLoopback::TearDown();
    }

    [[nodiscard]] const std::vector<std::string>& device_log() const {
        return fake_->device().log();
    }

    bool device_logged(const std::string& line) const {
        return std::find(device_log().begin(), device_log().end(), line) != device_log().end();
    }

    void expect_press_logged(int button) {
        EXPECT_TRUE(device_logged("COMPANION HID " + std::to_string(button) + " down"));
        EXPECT_TRUE(device_logged("COMPANION HID " + std::to_string(button) + " up"));
    }

    std::unique_ptr<CompanionConnection> connection_;
    std::vector<PowerState> power_events_;
    std::vector<FeatureMap> feature_events_;
    std::vector<std::optional<double>> volume_events_;
    std::vector<FocusState> focus_events_;
};

bool valid_utf8(const std::string& text) {
    std::size_t at = 0;
    while (at < text.size()) {
        const auto lead = static_cast<unsigned char>(text[at]);
        const std::size_t length = lead < 0x80           ? 1
                                   : (lead >> 5) == 0x6  ? 2
                                   : (lead >> 4) == 0xe  ? 3
                                   : (lead >> 3) == 0x1e ? 4
                                                         : 0;
        if (length == 0 || at + length > text.size())
            return false;
        for (std::size_t i = 1; i < length; ++i) {
            if ((static_cast<unsigned char>(text[at + i]) >> 6) != 0x2)
                return false;
        }
        at += length;
    }
    return true;
}

TEST_F(CompanionControlTest, PowerStateComesAtConnectAndFollowsPushedStatus) {
    start_fake();
    fake_->device().set_power(false);
    CompanionControl& control = connect_control();
    EXPECT_EQ(control.power_state(), PowerState::off);
    const FeatureMap features = control.features();
    EXPECT_EQ(features.at(Feature::power_state), FeatureState::available);
    EXPECT_EQ(features.at(Feature::turn_on), FeatureState::available);
    EXPECT_EQ(features.at(Feature::turn_off), FeatureState::available);

    ASSERT_TRUE(fake_->device().script("power on") == std::nullopt);
    ASSERT_TRUE(run_until(io_, [&] { return !power_events_.empty(); }));
    EXPECT_EQ(power_events_, std::vector<PowerState>{PowerState::on});
    EXPECT_EQ(control.power_state(), PowerState::on);
    fake_->device().set_power(false);
    ASSERT_TRUE(run_until(io_, [&] { return power_events_.size() == 2; }));
    EXPECT_EQ(power_events_.back(), PowerState::off);
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

TEST_F(CompanionControlTest, ADeviceWithoutAttentionHandlerStartsUnknown) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.refused.insert("FetchAttentionState");
    CompanionControl& control = connect_control(quirks);
    EXPECT_EQ(control.power_state(), PowerState::unknown);
    fake_->device().set_power(false);
    ASSERT_TRUE(run_until(io_, [&] { return !power_events_.empty(); }));
    EXPECT_EQ(control.power_state(), PowerState::off);
}

TEST_F(CompanionControlTest, TurnOffAndOnPressSleepAndWake) {
    start_fake();
    CompanionControl& control = connect_control();
    EXPECT_EQ(control.power_state(), PowerState::on);
    run(io_, control.turn_off());
    expect_press_logged(12);
    ASSERT_TRUE(run_until(io_, [&] { return control.power_state() == PowerState::off; }));
    run(io_, control.turn_on());
    expect_press_logged(13);
    ASSERT_TRUE(run_until(io_, [&] { return power_events_.size() == 2; }));
    EXPECT_EQ(power_events_, (std::vector<PowerState>{PowerState::off, PowerState::on}));
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

TEST_F(CompanionControlTest, FlappingPowerIsToldBoundedAndEndsOnTheLastState) {
    start_fake();
    CompanionControlOptions options;
    options.max_pending_power_events = 4;
    CompanionControl& control = connect_control({}, options);
    constexpr std::size_t flaps = 2001;  // odd: ends off
    ASSERT_TRUE(fake_->device().script("power-flap " + std::to_string(flaps)) == std::nullopt);
    ASSERT_TRUE(run_until(io_, [&] {
        return !power_events_.empty() && power_events_.back() == PowerState::off &&
               control.power_state() == PowerState::off;
    }));
    run_for(io_, 200ms);
    EXPECT_EQ(control.power_state(), PowerState::off);
    EXPECT_EQ(power_events_.back(), PowerState::off);
    EXPECT_LT(power_events_.size(), flaps / 4) << "every flap was queued for the listener";
    for (std::size_t i = 1; i < power_events_.size(); ++i)
        EXPECT_NE(power_events_[i], power_events_[i - 1]) << "a state was told twice in a row";

    // Changes with time between them are each told.
    power_events_.clear();
    for (const bool on : {true, false, true}) {
        fake_->device().set_power(on);
        ASSERT_TRUE(run_until(io_, [&] {
            return !power_events_.empty() &&
                   power_events_.back() == (on ? PowerState::on : PowerState::off);
        }));
    }
    EXPECT_EQ(power_events_,
              (std::vector<PowerState>{PowerState::on, PowerState::off, PowerState::on}));
}

TEST_F(CompanionControlTest, ListsAndLaunchesApps) {
    start_fake();
    ASSERT_TRUE(fake_->device().script("apps com.apple.TVMusic=Music,com.example.Films=Films") ==
                std::nullopt);
    CompanionControl& control = connect_control();
    EXPECT_EQ(control.features().at(Feature::app_list), FeatureState::available);
    EXPECT_EQ(control.features().at(Feature::launch_app), FeatureState::available);
    const auto apps = run(io_, control.apps());
    EXPECT_EQ(apps, (std::vector<NamedItem>{{"com.apple.TVMusic", "Music"},
                                            {"com.example.Films", "Films"}}));
    run(io_, control.launch("com.apple.TVMusic"));
    EXPECT_TRUE(device_logged("LAUNCH com.apple.TVMusic"));
    run(io_, control.launch("https://example.com/watch?v=1"));
    EXPECT_TRUE(device_logged("LAUNCH-URL https://example.com/watch?v=1"));

    const Error unknown = expect_error([&] { run(io_, control.launch("com.example.Missing")); });
    EXPECT_EQ(unknown.kind(), ErrorKind::invalid_arguments);
    EXPECT_TRUE(contains(unknown, "no app com.example.Missing")) << unknown.what();
    const Error empty = expect_error([&] { run(io_, control.launch("")); });
    EXPECT_EQ(empty.kind(), ErrorKind::invalid_arguments);
}

TEST_F(CompanionControlTest, ListsAndSwitchesAccounts) {
    start_fake();
    CompanionControl& control = connect_control();
    const auto accounts = run(io_, control.accounts());
    EXPECT_EQ(accounts, (std::vector<NamedItem>{{"A1B2C3D4", "Alice"}, {"E5F6A7B8", "Bob"}}));
    run(io_, control.switch_account("E5F6A7B8"));
    EXPECT_TRUE(device_logged("SWITCH-ACCOUNT E5F6A7B8"));
    EXPECT_EQ(fake_->device().current_account(), "E5F6A7B8");
    const Error unknown = expect_error([&] { run(io_, control.switch_account("nobody")); });
    EXPECT_EQ(unknown.kind(), ErrorKind::invalid_arguments);
    EXPECT_TRUE(contains(unknown, "no account nobody")) << unknown.what();
}

TEST_F(CompanionControlTest, AHugeAppListIsCutAtTenThousand) {
    start_fake();
    ASSERT_TRUE(fake_->device().script("apps-generate 10500") == std::nullopt);
    CompanionControl& control = connect_control();
    const auto apps = run(io_, control.apps());
    ASSERT_EQ(apps.size(), 10000u);
    EXPECT_EQ(apps.front(), (NamedItem{"com.example.app0", "App 0"}));
    EXPECT_EQ(apps.back(), (NamedItem{"com.example.app9999", "App 9999"}));
}

TEST_F(CompanionControlTest, AnAppListThatNeverComesTimesOut) {
    start_fake();
    fakes::FakeCompanionQuirks quirks;
    quirks.unanswered.insert("FetchLaunchableApplicationsEvent");
    CompanionControlOptions options;
    options.request_timeout = 300ms;
    CompanionControl& control = connect_control(quirks, options);
    const auto started = std::chrono::steady_clock::now();
    const Error error = expect_error([&] { run(io_, control.apps()); });
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3000ms);
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
    EXPECT_TRUE(contains(error, "did not send its app list")) << error.what();
    // The connection still serves everything else.
    EXPECT_EQ(run(io_, control.accounts()).size(), 2u);
}

TEST_F(CompanionControlTest, NamesAreMadeValidUtf8AndCut) {
    start_fake();
    fake_->device().set_apps({{"com.example.Broken", "Bad \xff\xfe name \xc3"},
                              {"com.example.Long", std::string(100000, 'x')},
                              {"com.example.Fine", "Caf\xc3\xa9"}});
    CompanionControl& control = connect_control();
    const auto apps = run(io_, control.apps());
    ASSERT_EQ(apps.size(), 3u);
    for (const NamedItem& app : apps) {
        EXPECT_TRUE(valid_utf8(app.name)) << app.identifier;
        EXPECT_LE(app.name.size(), 256u) << app.identifier;
    }
    EXPECT_NE(apps[0].name.find("\xef\xbf\xbd"), std::string::npos);
    EXPECT_EQ(apps[2].name, "Caf\xc3\xa9");
}

TEST_F(CompanionControlTest, NavigationKeysArePressedAsHidButtons) {
    start_fake();
    CompanionControl& control = connect_control();
    const std::vector<std::pair<Key, int>> keys{
        {Key::up, 1},           {Key::down, 2},        {Key::left, 3},
        {Key::right, 4},        {Key::menu, 5},        {Key::select, 6},
        {Key::home, 7},         {Key::volume_up, 8},   {Key::volume_down, 9},
        {Key::screensaver, 11}, {Key::play_pause, 14}, {Key::channel_up, 15},
        {Key::channel_down, 16}};
    for (const auto& [key, button] : keys) {
        EXPECT_EQ(control.features().at(feature_of(key, InputAction::single)),
                  FeatureState::available)
            << to_string(key);
        run(io_, control.press(key, InputAction::single, std::nullopt));
        expect_press_logged(button);
    }
    const std::size_t before = device_log().size();
    run(io_, control.press(Key::select, InputAction::double_tap, std::nullopt));
    EXPECT_EQ(device_log().size(), before + 4);
    EXPECT_EQ(control.features().at(Feature::stop), FeatureState::unsupported);
    const Error stop = expect_error(
        [&] { run(io_, control.press(Key::stop, InputAction::single, std::nullopt)); });
    EXPECT_EQ(stop.kind(), ErrorKind::not_supported);
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

TEST_F(CompanionControlTest, MediaControlFollowsTheDevicesFlags) {
    start_fake();
    CompanionControl& control = connect_control();
    // The fake's flags: play, pause, skips and volume; no next or previous.
    EXPECT_EQ(control.features().at(Feature::play), FeatureState::available);
    EXPECT_EQ(control.features().at(Feature::pause), FeatureState::available);
    EXPECT_EQ(control.features().at(Feature::next), FeatureState::unsupported);
    EXPECT_EQ(control.features().at(Feature::previous), FeatureState::unsupported);
    run(io_, control.press(Key::play, InputAction::single, std::nullopt));
    EXPECT_TRUE(device_logged("MCC 1"));
    run(io_, control.press(Key::pause, InputAction::single, std::nullopt));
    EXPECT_TRUE(device_logged("MCC 2"));
    const Error next = expect_error(
        [&] { run(io_, control.press(Key::next, InputAction::single, std::nullopt)); });
    EXPECT_EQ(next.kind(), ErrorKind::not_supported);
    EXPECT_FALSE(device_logged("MCC 3"));

    // The volume, fetched for the listener, and set.
    ASSERT_TRUE(run_until(io_, [&] { return control.volume().has_value(); }));
    EXPECT_DOUBLE_EQ(*control.volume(), 50.0);
    EXPECT_EQ(control.features().at(Feature::volume), FeatureState::available);
    run(io_, control.set_volume(30.0));
    EXPECT_TRUE(device_logged("MCC 6 volume=0.3"));
    EXPECT_DOUBLE_EQ(*control.volume(), 30.0);

    // New flags: next and previous, no play and no volume.
    const std::size_t told = feature_events_.size();
    ASSERT_TRUE(fake_->device().script("media-flags 0xe") == std::nullopt);
    ASSERT_TRUE(run_until(io_, [&] { return feature_events_.size() > told; }));
    EXPECT_EQ(feature_events_.back().at(Feature::next), FeatureState::available);
    EXPECT_EQ(feature_events_.back().at(Feature::play), FeatureState::unsupported);
    EXPECT_EQ(feature_events_.back().at(Feature::set_volume), FeatureState::unsupported);
    EXPECT_EQ(control.volume(), std::nullopt);
    run(io_, control.press(Key::next, InputAction::single, std::nullopt));
    run(io_, control.press(Key::previous, InputAction::single, std::nullopt));
    EXPECT_TRUE(device_logged("MCC 3"));
    EXPECT_TRUE(device_logged("MCC 4"));
    const Error play = expect_error(
        [&] { run(io_, control.press(Key::play, InputAction::single, std::nullopt)); });
    EXPECT_EQ(play.kind(), ErrorKind::not_supported);
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

TEST_F(CompanionControlTest, TheFocusComesAtConnectAndFollowsTheDevice) {
    start_fake();
    ASSERT_EQ(fake_->device().script("text-field Hi"), std::nullopt);
    ASSERT_EQ(fake_->device().script("text-focus"), std::nullopt);
    CompanionControl& control = connect_control();
    EXPECT_EQ(control.focus_state(), FocusState::focused);
    EXPECT_EQ(control.features().at(Feature::text_get), FeatureState::available);
    EXPECT_EQ(run(io_, control.text()), "Hi");

    fake_->device().set_text_focus(false);
    ASSERT_TRUE(run_until(io_, [&] { return !focus_events_.empty(); }));
    EXPECT_EQ(focus_events_, std::vector<FocusState>{FocusState::unfocused});
    EXPECT_EQ(control.features().at(Feature::text_set), FeatureState::unavailable);
    EXPECT_EQ(control.features().at(Feature::text_focus_state), FeatureState::available);
    const Error unfocused = expect_error([&] { run(io_, control.set_text("x")); });
    EXPECT_EQ(unfocused.kind(), ErrorKind::not_supported);

    // A focus that flaps is told change by change, never the same twice, ending on the last.
    for (int flap = 0; flap <= 1000; ++flap)
        fake_->device().set_text_focus(flap % 2 == 0);
    ASSERT_TRUE(run_until(io_, [&] {
        return control.focus_state() == FocusState::focused &&
               focus_events_.back() == FocusState::focused;
    }));
    EXPECT_LE(focus_events_.size(), 1002u);
    for (std::size_t i = 1; i < focus_events_.size(); ++i)
        EXPECT_NE(focus_events_[i], focus_events_[i - 1]) << i;
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

TEST_F(CompanionControlTest, TextEditsReachTheFocusedField) {
    start_fake();
    CompanionControl& control = connect_control();
    EXPECT_EQ(control.focus_state(), FocusState::unfocused);
    fake_->device().set_text_focus(true);
    ASSERT_TRUE(run_until(io_, [&] { return control.focus_state() == FocusState::focused; }));
    run(io_, control.append_text("caf\xc3\xa9"));
    ASSERT_TRUE(run_until(io_, [&] { return fake_->device().text() == "caf\xc3\xa9"; }));
    run(io_, control.set_text("new"));
    ASSERT_TRUE(run_until(io_, [&] { return fake_->device().text() == "new"; }));
    EXPECT_TRUE(device_logged("TEXT clear"));
    EXPECT_EQ(run(io_, control.text()), "new");
    run(io_, control.clear_text());
    ASSERT_TRUE(run_until(
        io_, [&] { return device_logged("TEXT clear") && fake_->device().text().empty(); }));
    EXPECT_EQ(run(io_, control.text()), "");
    for (const std::string& line : device_log())
        EXPECT_FALSE(line.starts_with("TEXT refused")) << line;
    EXPECT_EQ(fake_->violations(), std::vector<std::string>{});
}

TEST_F(CompanionControlTest, AFieldOverTheLimitIsNotReadAndOneOverAFrameIsALostLink) {
    start_fake();
    ASSERT_EQ(fake_->device().script("text-field-generate 100000"), std::nullopt);
    ASSERT_EQ(fake_->device().script("text-focus"), std::nullopt);
    CompanionControl& control = connect_control();
    const Error long_field = expect_error([&] { run(io_, control.text()); });
    EXPECT_EQ(long_field.kind(), ErrorKind::not_supported);
    EXPECT_NE(std::string(long_field.what()).find("100000 bytes"), std::string::npos);
    run(io_, control.clear_text());
    ASSERT_TRUE(run_until(io_, [&] { return fake_->device().text().empty(); }));

    fake_->device().set_text(std::string(2 * 1024 * 1024, 'x'));
    const Error huge = expect_error([&] { run(io_, control.text()); });
    EXPECT_EQ(huge.kind(), ErrorKind::connection_lost);
    EXPECT_NE(std::string(huge.what()).find("frame"), std::string::npos) << huge.what();
}

TEST(FakeCompanionDevice, ScriptVerbsAreCheckedAndApplied) {
    fakes::FakeCompanionDevice device;
    EXPECT_TRUE(fakes::FakeCompanionDevice::handles("power"));
    EXPECT_FALSE(fakes::FakeCompanionDevice::handles("play"));
    EXPECT_EQ(device.script("power off"), std::nullopt);
    EXPECT_EQ(device.attention(), AttentionState::asleep);
    EXPECT_NE(device.script("power maybe"), std::nullopt);
    EXPECT_NE(device.script("power-flap 0"), std::nullopt);
    EXPECT_NE(device.script("apps nonsense"), std::nullopt);
    EXPECT_EQ(device.script("apps none"), std::nullopt);
    EXPECT_TRUE(device.apps().empty());
    EXPECT_EQ(device.script("accounts x=X"), std::nullopt);
    EXPECT_EQ(device.accounts().size(), 1u);
    EXPECT_EQ(device.script("media-flags 0x103"), std::nullopt);
    EXPECT_EQ(device.media_control_flags(), 0x103u);
    EXPECT_EQ(device.log(), std::vector<std::string>{"POWER off"});
}

}  // namespace
}  // namespace atv::companion
