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

}  // namespace
}  // namespace atv::companion
