// HapPinOnScreenPairing against an accessory in the same process: the pairing steps, a wrong PIN,
// and close() arriving while the device's answer to each message is on its way.
#include "pairing/pin_on_screen.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <optional>
#include <string>

#include "atv/error.hpp"
#include "expect_error.hpp"
#include "hap/credentials.hpp"
#include "hap/pair_verify.hpp"
#include "hap/tlv8.hpp"
#include "run_coroutine.hpp"

namespace atv {
namespace {

using fakes::run;

constexpr const char* device_pin = "1234";

// The transport hands each message to the accessory's pair-setup until it has paired, then to
// its pair-verify. close_at_exchange makes close() run inside that exchange, after the message
// has reached the device and before its answer returns.
class InProcessPairing final : public HapPinOnScreenPairing {
  public:
    InProcessPairing()
        : HapPinOnScreenPairing("in-process", "with the accessory", hap::ClientIdentity::generate(),
                                "test"),
          setup_accessory_(identity_, device_pin),
          verify_accessory_(identity_,
                            [this](std::string_view client_id) { return known_ltpk(client_id); }) {}

    [[nodiscard]] Protocol protocol() const override { return Protocol::mrp; }

    std::optional<int> close_at_exchange;
    int exchanges = 0;
    bool connected = false;
    int connections_closed = 0;
    [[nodiscard]] const hap::PairSetupAccessory& device() const { return setup_accessory_; }
    [[nodiscard]] const Bytes& device_ltpk() const { return identity_.keys.public_key; }
    [[nodiscard]] bool device_verified() const { return verify_accessory_.verified(); }

  protected:
    asio::awaitable<void> connect() override {
        connected = true;
        co_return;
    }

    asio::awaitable<Bytes> exchange(Bytes message, bool /*first*/) override {
        ++exchanges;
        Bytes answer = setup_accessory_.paired() ? verify_accessory_.handle(message)
                                                 : setup_accessory_.handle(message);
        if (close_at_exchange == exchanges) {
            co_await close();
        }
        co_return answer;
    }

    asio::awaitable<void> close_connection() override {
        if (connected) {
            ++connections_closed;
        }
        connected = false;
        co_return;
    }

  private:
    std::optional<Bytes> known_ltpk(std::string_view client_id) const {
        const auto controller = setup_accessory_.controller();
        if (!controller || controller->client_id != client_id) {
            return std::nullopt;
        }
        return controller->ltpk;
    }

    hap::AccessoryIdentity identity_{"C0:FF:EE:00:00:02", hap::Ed25519KeyPair::generate()};
    hap::PairSetupAccessory setup_accessory_;
    hap::PairVerifyAccessory verify_accessory_;
};

// The atv::Error a pairing step fails with.
Error error_of(asio::io_context& io, asio::awaitable<void> step) {
    return fakes::expect_error([&] { run(io, std::move(step)); });
}

TEST(HapPinOnScreenPairing, PairsProvesTheCredentialsAndDisconnects) {
    asio::io_context io;
    InProcessPairing pairing;
    run(io, pairing.begin());
    EXPECT_TRUE(pairing.connected);
    pairing.pin(device_pin);
    run(io, pairing.finish());

    ASSERT_TRUE(pairing.has_paired());
    EXPECT_TRUE(pairing.device_verified());
    EXPECT_FALSE(pairing.connected);
    const auto credentials = hap::HapCredentials::parse(pairing.credentials());
    EXPECT_EQ(credentials.ltpk, pairing.device_ltpk());
    EXPECT_EQ(to_string(credentials.device_id), "C0:FF:EE:00:00:02");
    ASSERT_TRUE(pairing.device().controller().has_value());
    EXPECT_EQ(to_string(credentials.client_id), pairing.device().controller()->client_id);
}

TEST(HapPinOnScreenPairing, AWrongPinIsSaidPlainlyAndReleasesTheConnection) {
    asio::io_context io;
    InProcessPairing pairing;
    run(io, pairing.begin());
    pairing.pin("9999");
    const Error error = error_of(io, pairing.finish());

    EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
    EXPECT_NE(std::string(error.what()).find("the PIN was wrong"), std::string::npos)
        << error.what();
    EXPECT_FALSE(pairing.has_paired());
    EXPECT_FALSE(pairing.connected);
    EXPECT_FALSE(pairing.device().paired());
}

// Exchange 1 is pair-setup M1 (in begin()), 2 and 3 are M3 and M5, 4 and 5 the pair-verify.
class CloseDuringExchange : public ::testing::TestWithParam<int> {};

TEST_P(CloseDuringExchange, EndsThePairingWithoutCredentials) {
    asio::io_context io;
    InProcessPairing pairing;
    pairing.close_at_exchange = GetParam();
    std::optional<Error> error;
    try {
        run(io, pairing.begin());
        pairing.pin(device_pin);
        run(io, pairing.finish());
    } catch (const Error& caught) {
        error = caught;
    }

    ASSERT_TRUE(error.has_value()) << "the closed pairing went on";
    EXPECT_EQ(error->kind(), ErrorKind::invalid_state) << error->what();
    EXPECT_NE(std::string(error->what()).find("the pairing was closed while"), std::string::npos)
        << error->what();
    EXPECT_EQ(pairing.exchanges, GetParam()) << "a message was sent after close()";
    EXPECT_FALSE(pairing.has_paired());
    EXPECT_FALSE(pairing.connected);
    EXPECT_EQ(pairing.connections_closed, 1);
}

INSTANTIATE_TEST_SUITE_P(EachExchange, CloseDuringExchange, ::testing::Range(1, 6));

TEST(HapPinOnScreenPairing, CanBeginAgainAfterAClose) {
    asio::io_context io;
    InProcessPairing pairing;
    pairing.close_at_exchange = 2;
    EXPECT_EQ(error_of(io,
                       [&]() -> asio::awaitable<void> {
                           co_await pairing.begin();
                           pairing.pin(device_pin);
                           co_await pairing.finish();
                       }())
                  .kind(),
              ErrorKind::invalid_state);

    pairing.close_at_exchange.reset();
    run(io, pairing.begin());
    pairing.pin(device_pin);
    run(io, pairing.finish());
    EXPECT_TRUE(pairing.has_paired());
}

}  // namespace
}  // namespace atv
