// Companion figures against the in-process fakes on 127.0.0.1: a device Connect through the
// facade with MRP and Companion both paired, and OPACK encode/decode of a typical message.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>

#include "atv/atv.hpp"
#include "companion/opack.hpp"
#include "companion/pairing.hpp"
#include "fake_atv.hpp"
#include "fake_companion.hpp"
#include "hap/identity.hpp"
#include "mrp/pairing.hpp"
#include "run_coroutine.hpp"

namespace {

using namespace std::chrono_literals;
using namespace atv;

using fakes::run;

template <typename Handler>
std::string pair_with(asio::io_context& io, Handler& handler) {
    run(io, handler.begin());
    handler.pin("1234");
    run(io, handler.finish());
    run(io, handler.close());
    return handler.credentials();
}

void BM_ConnectMrpAndCompanion(benchmark::State& state) {
    spdlog::set_level(spdlog::level::warn);
    asio::io_context io;
    fakes::FakeAtvConfig config;
    config.pin = "1234";
    fakes::FakeAppleTv fake(io.get_executor(), config);
    fake.start();
    fakes::FakeCompanion companion(io.get_executor(), fake.state());
    companion.start();

    mrp::MrpPairingHandler mrp_handler(io.get_executor(), "127.0.0.1", fake.port(),
                                       hap::ClientIdentity::generate(), PairingOptions{});
    companion::CompanionPairingHandler companion_handler(
        io.get_executor(), "127.0.0.1", companion.port(), hap::ClientIdentity::generate(),
        PairingOptions{});
    const CredentialsMap credentials{{Protocol::mrp, pair_with(io, mrp_handler)},
                                     {Protocol::companion, pair_with(io, companion_handler)}};
    DeviceConfig device;
    device.name = "Fake Apple TV";
    device.address = "127.0.0.1";
    ServiceConfig mrp_service;
    mrp_service.protocol = Protocol::mrp;
    mrp_service.port = fake.port();
    mrp_service.identifier = fake.state().unique_identifier();
    mrp_service.pairing = PairingRequirement::optional;
    ServiceConfig companion_service;
    companion_service.protocol = Protocol::companion;
    companion_service.port = companion.port();
    companion_service.pairing = PairingRequirement::mandatory;
    device.services = {mrp_service, companion_service};
    for (auto _ : state) {
        auto connection = run(io, atv::connect(device, credentials, Identity{}, 2000ms));
        if (connection->protocols().size() != 2)
            state.SkipWithError("not both protocols");
        run(io, connection->close());
    }
    run(io, companion.stop());
    run(io, fake.stop());
}
BENCHMARK(BM_ConnectMrpAndCompanion)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_OpackRoundTrip(benchmark::State& state) {
    const companion::OpackValue message = companion::OpackDict{
        {"_i", "_systemInfo"},
        {"_t", 2},
        {"_x", 4242},
        {"_c", companion::OpackDict{{"_bf", 0},
                                    {"_cf", 512},
                                    {"_clFl", 128},
                                    {"_i", "0123456789ab"},
                                    {"_idsID", Bytes(36, 0x41)},
                                    {"_sv", "170.18"},
                                    {"model", "atvd"},
                                    {"name", "atvd"}}},
    };
    for (auto _ : state) {
        const Bytes encoded = companion::opack_encode(message);
        benchmark::DoNotOptimize(companion::opack_decode(encoded));
    }
}
BENCHMARK(BM_OpackRoundTrip);

}  // namespace

BENCHMARK_MAIN();
