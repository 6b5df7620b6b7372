// The coroutine drivers against the in-memory accessory.
#include "hap/flows.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include "hap/errors.hpp"
#include "hap/pair_verify.hpp"
#include "hap/session.hpp"

namespace atv::hap {
namespace {

template <typename T>
T run(asio::io_context& context, asio::awaitable<T> flow) {
    auto future = asio::co_spawn(context, std::move(flow), asio::use_future);
    context.restart();
    context.run();
    return future.get();
}

// An exchange that hands each request to `handle` after a trip through the event loop, as a
// transport would.
template <typename Handler>
TlvExchange loop_exchange(Handler& handler, int& exchanges) {
    return [&handler, &exchanges](Bytes request) -> asio::awaitable<Bytes> {
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        ++exchanges;
        co_return handler.handle(request);
    };
}

TEST(Flows, PairSetupThenVerify) {
    asio::io_context context;
    const AccessoryIdentity identity{"C0:FF:EE:00:00:03", Ed25519KeyPair::generate()};
    PairSetupAccessory accessory(identity, "2468");
    int exchanges = 0;
    const auto exchange = loop_exchange(accessory, exchanges);

    PairSetupFlow flow(ClientIdentity::generate(), std::string("Living Room Remote"));
    run(context, flow.begin(exchange));
    EXPECT_EQ(exchanges, 1);
    flow.pin("2468");
    const HapCredentials credentials = run(context, flow.finish(exchange));
    EXPECT_EQ(exchanges, 3);
    ASSERT_TRUE(accessory.paired());
    // The display name travels as OPACK {"name": "Living Room Remote"}.
    Bytes expected_name{0xe1, 0x44, 'n', 'a', 'm', 'e', 0x40 + 18};
    const Bytes name_text = to_bytes("Living Room Remote");
    expected_name.insert(expected_name.end(), name_text.begin(), name_text.end());
    EXPECT_EQ(to_hex(accessory.controller()->name), to_hex(expected_name));

    const PairedController paired = *accessory.controller();
    PairVerifyAccessory verifier(identity, [&](std::string_view id) -> std::optional<Bytes> {
        return id == paired.client_id ? std::optional<Bytes>(paired.ltpk) : std::nullopt;
    });
    int verify_exchanges = 0;
    const SecretBytes shared =
        run(context, pair_verify(credentials, loop_exchange(verifier, verify_exchanges)));
    EXPECT_EQ(verify_exchanges, 2);
    ASSERT_TRUE(verifier.verified());
    EXPECT_EQ(to_hex(shared.view()), to_hex(verifier.shared_secret().view()));
}

TEST(Flows, TransientPairing) {
    asio::io_context context;
    PairSetupAccessory accessory({"C0:FF:EE:00:00:04", Ed25519KeyPair::generate()}, "1234");
    int exchanges = 0;
    const SecretBytes key = run(context, transient_pair_setup(loop_exchange(accessory, exchanges)));
    EXPECT_EQ(exchanges, 2);
    EXPECT_EQ(to_hex(key.view()), to_hex(accessory.srp_session_key().view()));
}

TEST(Flows, WrongPinSurfacesFromFinish) {
    asio::io_context context;
    PairSetupAccessory accessory({"C0:FF:EE:00:00:05", Ed25519KeyPair::generate()}, "1234");
    int exchanges = 0;
    const auto exchange = loop_exchange(accessory, exchanges);
    PairSetupFlow flow(ClientIdentity::generate(), std::nullopt);
    EXPECT_THROW(run(context, flow.finish(exchange)), Error);  // before begin()
    run(context, flow.begin(exchange));
    flow.pin("9");
    try {
        (void)run(context, flow.finish(exchange));
        FAIL() << "a wrong PIN was accepted";
    } catch (const HapError& error) {
        EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
        EXPECT_NE(std::string(error.what()).find("PIN"), std::string::npos);
    }
}

}  // namespace
}  // namespace atv::hap
