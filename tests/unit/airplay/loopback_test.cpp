// AirPlayPairingHandler, pair-verify and transient pairing against the fake AirPlay receiver
// over real TCP on 127.0.0.1.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "airplay/auth.hpp"
#include "airplay/http_client.hpp"
#include "airplay/legacy.hpp"
#include "airplay/pairing.hpp"
#include "airplay/tunnel.hpp"
#include "atv/atv.hpp"
#include "atv/error.hpp"
#include "connection_steps.hpp"
#include "expect_error.hpp"
#include "fake_airplay.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "mrp/messages.hpp"
#include "run_coroutine.hpp"

namespace atv::airplay {
namespace {

using namespace std::chrono_literals;
using fakes::contains;
using fakes::expect_error;
using fakes::FakeAirPlay;
using fakes::FakeAtvConfig;
using fakes::FakeAtvState;
using fakes::Misbehaviour;
using fakes::run;
using fakes::run_until;

class AirPlayLoopback : public ::testing::Test {
  protected:
    void start_fake(FakeAtvConfig config = {}) {
        if (config.pin.empty())
            config.pin = "1234";
        state_ = std::make_unique<FakeAtvState>(std::move(config));
        fake_ = std::make_unique<FakeAirPlay>(io_.get_executor(), *state_);
        fake_->start();
    }

    void TearDown() override {
        if (fake_)
            run(io_, fake_->stop());
    }

    std::unique_ptr<AirPlayPairingHandler> make_handler() {
        auto handler = std::make_unique<AirPlayPairingHandler>(
            io_.get_executor(), "127.0.0.1", fake_->port(), hap::ClientIdentity::generate(),
            PairingOptions{});
        handler->set_step_timeout(1000ms);
        return handler;
    }

    std::string pair(const std::string& pin = "1234") {
        return fakes::pair_with_pin(io_, *make_handler(), pin);
    }

    std::unique_ptr<HttpClient> connect() {
        return run(io_,
                   HttpClient::connect(io_.get_executor(), "127.0.0.1", fake_->port(), 1000ms));
    }

    // A request the fake only answers (404) on a verified, encrypted connection.
    http::Response probe(HttpClient& client) {
        http::Request request;
        request.method = "GET";
        request.target = "/info";
        return run(io_, client.request(request, 1000ms));
    }

    std::unique_ptr<TunnelConnection> tunnel(std::optional<hap::HapCredentials> credentials,
                                             TunnelOptions options = {}) {
        return run(io_, connect_tunnel(io_.get_executor(), "127.0.0.1", fake_->port(),
                                       std::move(credentials), 1000ms, options));
    }

    std::size_t seen(const std::string& request) const {
        const auto& all = fake_->requests_seen();
        return static_cast<std::size_t>(std::count(all.begin(), all.end(), request));
    }

    asio::io_context io_;
    std::unique_ptr<FakeAtvState> state_;
    std::unique_ptr<FakeAirPlay> fake_;
};

TEST_F(AirPlayLoopback, PairsAndTheCredentialsVerify) {
    start_fake();
    const std::string credentials = pair();
    EXPECT_EQ(hap::credentials_type(credentials), hap::CredentialsType::hap);
    EXPECT_EQ(state_->paired_count(), 1u);
    const auto& seen = fake_->requests_seen();
    ASSERT_GE(seen.size(), 6u);
    EXPECT_EQ(seen[0], "POST /pair-pin-start");
    EXPECT_EQ(seen[1], "POST /pair-setup");
    EXPECT_EQ(seen[4], "POST /pair-verify");

    // A later connection verifies with them and talks in HAP frames.
    auto client = connect();
    EXPECT_EQ(probe(*client).status, 470);  // not verified yet
    (void)run(io_, verify_and_encrypt(*client, hap::HapCredentials::parse(credentials), 1000ms));
    EXPECT_TRUE(client->encrypted());
    EXPECT_EQ(probe(*client).status, 404);
}

TEST_F(AirPlayLoopback, WrongPinFailsClearlyAndPairingCanStartAgain) {
    start_fake();
    auto handler = make_handler();
    run(io_, handler->begin());
    handler->pin("9999");
    const Error error = expect_error([&] { run(io_, handler->finish()); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_TRUE(contains(error, "PIN was wrong"));
    EXPECT_FALSE(handler->has_paired());
    EXPECT_EQ(state_->paired_count(), 0u);
    run(io_, handler->begin());
    handler->pin("1234");
    run(io_, handler->finish());
    EXPECT_TRUE(handler->has_paired());
}

TEST_F(AirPlayLoopback, RejectedCredentialsAreAnAuthenticationFailure) {
    start_fake();
    const std::string credentials = pair();
    run(io_, fake_->stop());
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::reject_credentials;
    start_fake(config);
    auto client = connect();
    const Error error = expect_error([&] {
        (void)run(io_,
                  verify_and_encrypt(*client, hap::HapCredentials::parse(credentials), 1000ms));
    });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
}

TEST_F(AirPlayLoopback, TransientPairingEncryptsTheConnection) {
    FakeAtvConfig config;
    config.pin = "";  // a device showing no PIN: transient pairing must not need one
    state_ = std::make_unique<FakeAtvState>(config);
    fake_ = std::make_unique<FakeAirPlay>(io_.get_executor(), *state_);
    fake_->start();
    auto client = connect();
    const SecretBytes key = run(io_, transient_setup_and_encrypt(*client, 1000ms));
    EXPECT_EQ(key.size(), 64u);
    EXPECT_TRUE(client->encrypted());
    EXPECT_EQ(probe(*client).status, 404);
    EXPECT_EQ(state_->paired_count(), 0u);
}

TEST_F(AirPlayLoopback, StalledDeviceTimesOut) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::stall_setup;
    start_fake(config);
    auto handler = make_handler();
    handler->set_step_timeout(200ms);
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
}

TEST_F(AirPlayLoopback, DroppedConnectionIsAConnectionFailure) {
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::drop_handshake;
    start_fake(config);
    auto handler = make_handler();
    const Error error = expect_error([&] { run(io_, handler->begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
}

TEST_F(AirPlayLoopback, NothingListeningIsAConnectionFailure) {
    start_fake();
    const std::uint16_t port = fake_->port();
    run(io_, fake_->stop());
    fake_.reset();
    AirPlayPairingHandler handler(io_.get_executor(), "127.0.0.1", port,
                                  hap::ClientIdentity::generate(), PairingOptions{});
    const Error error = expect_error([&] { run(io_, handler.begin()); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
}

TEST_F(AirPlayLoopback, TunnelRunsMrpWithStoredCredentialsAndCloses) {
    start_fake();
    const auto credentials = hap::HapCredentials::parse(pair());
    const std::size_t handled_before = state_->messages_handled;
    auto connection = tunnel(credentials);
    EXPECT_EQ(connection->protocol(), Protocol::airplay);
    EXPECT_EQ(fake_->open_tunnels(), 1u);
    EXPECT_EQ(seen("POST /pair-verify"), 4u);  // two at pairing, two now
    const auto& all = fake_->requests_seen();
    EXPECT_EQ(std::count_if(all.begin(), all.end(),
                            [](const std::string& r) { return r.starts_with("SETUP rtsp://"); }),
              2);
    EXPECT_EQ(std::count_if(all.begin(), all.end(),
                            [](const std::string& r) { return r.starts_with("RECORD rtsp://"); }),
              1);
    // DEVICE_INFO, SET_CONNECTION_STATE, CLIENT_UPDATES_CONFIG, GET_KEYBOARD_SESSION went
    // through the data channel, and a message sent now is answered there.
    EXPECT_GE(state_->messages_handled - handled_before, 4u);
    const auto reply =
        run(io_, connection->channel().request(mrp::client_updates_config(), 1000ms));
    EXPECT_EQ(reply.type(), mrp::ProtocolMessage::CLIENT_UPDATES_CONFIG_MESSAGE);
    // The receiver's event channel request was answered.
    run_until(io_, [&] { return fake_->event_answers() == 1; });
    EXPECT_EQ(fake_->event_answers(), 1u);

    const fakes::LossRecorder losses(*connection);
    run(io_, connection->close());
    run_until(io_, [&] { return fake_->open_tunnels() == 0 && fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_tunnels(), 0u);
    EXPECT_EQ(fake_->open_connections(), 0u);
    EXPECT_EQ(losses.count(), 0);
}

TEST_F(AirPlayLoopback, TunnelSendsFeedback) {
    start_fake();
    TunnelOptions options;
    options.feedback_interval = 50ms;
    auto connection = tunnel(std::nullopt, options);
    run_until(io_, [&] { return seen("POST /feedback") >= 3; });
    EXPECT_GE(seen("POST /feedback"), 3u);
    run(io_, connection->close());
}

TEST_F(AirPlayLoopback, TransientTunnelNeedsNoPairing) {
    start_fake();
    auto connection = tunnel(std::nullopt);
    EXPECT_EQ(fake_->open_tunnels(), 1u);
    EXPECT_EQ(state_->paired_count(), 0u);
    EXPECT_EQ(seen("POST /pair-verify"), 0u);
    run(io_, connection->close());
}

TEST_F(AirPlayLoopback, TunnelWithRejectedCredentialsFailsAndLeavesNothingOpen) {
    start_fake();
    const auto credentials = hap::HapCredentials::parse(pair());
    run(io_, fake_->stop());
    FakeAtvConfig config;
    config.misbehaviour = Misbehaviour::reject_credentials;
    start_fake(config);
    const Error error = expect_error([&] { tunnel(credentials); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    EXPECT_TRUE(contains(error, "pair again"));
    run_until(io_, [&] { return fake_->open_connections() == 0; });
    EXPECT_EQ(fake_->open_connections(), 0u);
}

TEST_F(AirPlayLoopback, TunnelReportsLossWhenTheDeviceDrops) {
    start_fake();
    auto connection = tunnel(std::nullopt);
    const fakes::LossRecorder losses(*connection);
    fake_->drop_connections();
    losses.await(io_);
    EXPECT_EQ(losses.count(), 1);
    EXPECT_FALSE(losses.reason().empty());
    run(io_, connection->close());
}

TEST_F(AirPlayLoopback, LegacyPairingWithTheRightPinGivesCredentialsThatVerify) {
    start_fake();
    legacy::LegacyPairingHandler handler(io_.get_executor(), "127.0.0.1", fake_->port());
    handler.set_step_timeout(1000ms);
    run(io_, handler.begin());
    EXPECT_EQ(fake_->requests_seen().front(), "POST /pair-pin-start");
    handler.pin("1234");
    run(io_, handler.finish());
    ASSERT_TRUE(handler.has_paired());
    const std::string credentials = handler.credentials();
    EXPECT_EQ(hap::credentials_type(credentials), hap::CredentialsType::legacy);
    EXPECT_EQ(state_->paired_count(), 1u);
    EXPECT_EQ(seen("POST /pair-setup-pin"), 3u);

    auto client = connect();
    run(io_, legacy::verify(*client, hap::LegacyCredentials::parse(credentials), 1000ms));
    // Credentials the device never issued are refused.
    hap::LegacyCredentials stranger;
    stranger.client_id = random_bytes(8);
    stranger.seed = SecretBytes(random_bytes(32));
    auto other = connect();
    const Error error = expect_error([&] { run(io_, legacy::verify(*other, stranger, 1000ms)); });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
}

TEST_F(AirPlayLoopback, LegacyPairingWithAWrongPinFailsClearly) {
    start_fake();
    legacy::LegacyPairingHandler handler(io_.get_executor(), "127.0.0.1", fake_->port());
    run(io_, handler.begin());
    handler.pin("4321");
    const Error error = expect_error([&] { run(io_, handler.finish()); });
    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_TRUE(contains(error, "PIN was wrong"));
    EXPECT_FALSE(handler.has_paired());
    EXPECT_EQ(state_->paired_count(), 0u);
}

// A device as discovery describes a tvOS 15 Apple TV or a HomePod: AirPlay 2, no MRP.
DeviceConfig airplay_device(std::uint16_t port, const std::string& model) {
    DeviceConfig device;
    device.name = "Fake";
    device.address = "127.0.0.1";
    ServiceConfig service;
    service.protocol = Protocol::airplay;
    service.port = port;
    service.identifier = "AA:BB:CC:DD:EE:FF";
    service.pairing = PairingRequirement::mandatory;
    service.properties = {{"model", model}, {"features", "0x4A7FDFD5,0xBC157FDE"}};
    device.services = {service};
    return device;
}

TEST_F(AirPlayLoopback, ConnectTunnelsWithStoredCredentials) {
    start_fake();
    const CredentialsMap credentials{{Protocol::airplay, pair()}};
    const DeviceConfig device = airplay_device(fake_->port(), "AppleTV11,1");
    auto connection = run(io_, atv::connect(device, credentials, Identity{}, 1000ms));
    EXPECT_EQ(connection->protocols(), std::vector{Protocol::airplay});
    EXPECT_EQ(fake_->open_tunnels(), 1u);
    run(io_, connection->close());
}

TEST_F(AirPlayLoopback, ConnectUsesTransientPairingOnlyWhereTheDeviceAllowsIt) {
    start_fake();
    // A HomePod with SupportsCoreUtilsPairingAndEncryption: transient pairing, no credentials.
    auto connection = run(io_, atv::connect(airplay_device(fake_->port(), "AudioAccessory5,1"),
                                            CredentialsMap{}, Identity{}, 1000ms));
    EXPECT_EQ(connection->protocols(), std::vector{Protocol::airplay});
    EXPECT_EQ(seen("POST /pair-verify"), 0u);
    EXPECT_GE(seen("POST /pair-setup"), 2u);
    run(io_, connection->close());
    // An Apple TV gets the tunnel only with credentials.
    const Error error = expect_error([&] {
        run(io_, atv::connect(airplay_device(fake_->port(), "AppleTV11,1"), CredentialsMap{},
                              Identity{}, 1000ms));
    });
    EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    EXPECT_TRUE(contains(error, "pair airplay"));
}

TEST_F(AirPlayLoopback, PairChoosesByFeaturesAndRefusesPasswordProtectedReceivers) {
    start_fake();
    const Identity identity{"0d3a7c3e-5b7e-4a51-8f3e-6c1f0c9b2a10", SecretBytes(random_bytes(32))};
    DeviceConfig device = airplay_device(fake_->port(), "AppleTV11,1");
    auto hap_handler =
        atv::pair(io_.get_executor(), device, Protocol::airplay, PairingOptions{}, identity);
    EXPECT_NE(dynamic_cast<AirPlayPairingHandler*>(hap_handler.get()), nullptr);
    device.services[0].properties["features"] = "0x5A7FFFF7,0x1E";
    auto legacy_handler =
        atv::pair(io_.get_executor(), device, Protocol::airplay, PairingOptions{}, identity);
    EXPECT_NE(dynamic_cast<legacy::LegacyPairingHandler*>(legacy_handler.get()), nullptr);
    device.services[0].requires_password = true;
    const Error error = expect_error([&] {
        (void)atv::pair(io_.get_executor(), device, Protocol::airplay, PairingOptions{}, identity);
    });
    EXPECT_EQ(error.kind(), ErrorKind::not_supported);
    EXPECT_TRUE(contains(error, "password"));
}

TEST(AirPlayLegacyCrypto, SealedKeyOpensOnlyWithTheSameSessionKey) {
    const Bytes key = random_bytes(40);
    const Bytes ed25519 = random_bytes(32);
    const legacy::SealedKey sealed = legacy::seal_public_key(key, ed25519);
    EXPECT_EQ(sealed.auth_tag.size(), 16u);
    EXPECT_EQ(legacy::open_public_key(key, sealed), ed25519);
    EXPECT_FALSE(legacy::open_public_key(random_bytes(40), sealed));
    legacy::SealedKey tampered = sealed;
    tampered.epk[0] ^= 1;
    EXPECT_FALSE(legacy::open_public_key(key, tampered));
}

}  // namespace
}  // namespace atv::airplay
