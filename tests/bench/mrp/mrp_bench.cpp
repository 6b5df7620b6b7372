// MRP figures against the in-process fake Apple TV on 127.0.0.1: connect with stored
// credentials, pairing without the PIN wait, and encrypted message throughput.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

#include "fake_atv.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "mrp/connection.hpp"
#include "mrp/framing.hpp"
#include "mrp/handshake.hpp"
#include "mrp/messages.hpp"
#include "mrp/pairing.hpp"
#include "run_coroutine.hpp"

namespace {

using namespace std::chrono_literals;
using namespace atv;

using fakes::run;

struct Bench {
    Bench() {
        spdlog::set_level(spdlog::level::warn);
        fakes::FakeAtvConfig config;
        config.pin = "1234";
        fake.emplace(io.get_executor(), config);
        fake->start();
    }
    ~Bench() { run(io, fake->stop()); }

    std::string pair() {
        mrp::MrpPairingHandler handler(io.get_executor(), "127.0.0.1", fake->port(),
                                       hap::ClientIdentity::generate(), PairingOptions{});
        run(io, handler.begin());
        handler.pin("1234");
        run(io, handler.finish());
        run(io, handler.close());
        return handler.credentials();
    }

    asio::io_context io;
    std::optional<fakes::FakeAppleTv> fake;
};

void BM_ConnectWithStoredCredentials(benchmark::State& state) {
    Bench bench;
    const auto credentials = hap::HapCredentials::parse(bench.pair());
    for (auto _ : state) {
        auto connection =
            run(bench.io, mrp::connect_mrp(bench.io.get_executor(), "127.0.0.1", bench.fake->port(),
                                           credentials, 5000ms, mrp::MrpConnectOptions{}));
        run(bench.io, connection->close());
    }
}
BENCHMARK(BM_ConnectWithStoredCredentials)->Unit(benchmark::kMillisecond)->UseRealTime();

// Both ends run in this process, so the figure covers the client's and the fake's SRP work.
void BM_PairBeginToFinish(benchmark::State& state) {
    Bench bench;
    for (auto _ : state) {
        benchmark::DoNotOptimize(bench.pair());
    }
}
BENCHMARK(BM_PairBeginToFinish)->Unit(benchmark::kMillisecond)->UseRealTime();

// Serialise, seal, frame, read, open and parse one heartbeat: the per-message session work.
void BM_SessionMessageSealOpen(benchmark::State& state) {
    const Bytes shared = random_bytes(32);
    auto client = mrp::client_session_cipher(shared);
    auto device = mrp::device_session_cipher(shared);
    const mrp::ProtocolMessage message = mrp::heartbeat();
    mrp::FrameReader reader;
    for (auto _ : state) {
        reader.feed(mrp::encode_frame(client->seal(mrp::serialize(message))));
        auto frame = reader.next();
        auto parsed = mrp::parse(*device->open(*frame));
        benchmark::DoNotOptimize(parsed);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionMessageSealOpen);

// Encrypted messages from a connected client to the fake over TCP, counted as the fake
// handles them.
void BM_EncryptedMessagesOverTcp(benchmark::State& state) {
    Bench bench;
    const auto credentials = hap::HapCredentials::parse(bench.pair());
    auto connection =
        run(bench.io, mrp::connect_mrp(bench.io.get_executor(), "127.0.0.1", bench.fake->port(),
                                       credentials, 5000ms, mrp::MrpConnectOptions{}));
    constexpr std::size_t batch = 1000;
    const mrp::ProtocolMessage message =
        mrp::set_connection_state(mrp::proto::SetConnectionStateMessage::Connected);
    for (auto _ : state) {
        const std::size_t target = bench.fake->state().messages_handled + batch;
        for (std::size_t i = 0; i < batch; ++i) {
            connection->channel().send(message);
        }
        while (bench.fake->state().messages_handled < target) {
            bench.io.run_one();
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    run(bench.io, connection->close());
}
BENCHMARK(BM_EncryptedMessagesOverTcp)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
