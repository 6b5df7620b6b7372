// AirPlay figures against the in-process fake on 127.0.0.1: a device Connect through the facade
// with stored AirPlay credentials (pair-verify, RTSP SETUP of both channels, MRP session start
// inside the tunnel), and the binary plist round trip of a stream SETUP body.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <asio/io_context.hpp>
#include <chrono>

#include "airplay/pairing.hpp"
#include "airplay/plist.hpp"
#include "atv/atv.hpp"
#include "fake_airplay.hpp"
#include "fake_atv.hpp"
#include "hap/identity.hpp"
#include "run_coroutine.hpp"

namespace {

using namespace std::chrono_literals;
using namespace atv;

using fakes::run;

void BM_ConnectThroughTunnel(benchmark::State& state) {
    spdlog::set_level(spdlog::level::warn);
    asio::io_context io;
    fakes::FakeAtvConfig config;
    config.pin = "1234";
    fakes::FakeAtvState fake_state(config);
    fakes::FakeAirPlay fake(io.get_executor(), fake_state);
    fake.start();

    airplay::AirPlayPairingHandler handler(io.get_executor(), "127.0.0.1", fake.port(),
                                           hap::ClientIdentity::generate(), PairingOptions{});
    run(io, handler.begin());
    handler.pin("1234");
    run(io, handler.finish());
    run(io, handler.close());
    const CredentialsMap credentials{{Protocol::airplay, handler.credentials()}};

    DeviceConfig device;
    device.name = "Fake Apple TV";
    device.address = "127.0.0.1";
    ServiceConfig service;
    service.protocol = Protocol::airplay;
    service.port = fake.port();
    service.identifier = "AA:BB:CC:DD:EE:FF";
    service.pairing = PairingRequirement::mandatory;
    service.properties = {{"model", "AppleTV11,1"}, {"features", "0x4A7FDFD5,0xBC157FDE"}};
    device.services = {service};
    for (auto _ : state) {
        auto connection = run(io, atv::connect(device, credentials, Identity{}, 2000ms));
        if (connection->protocols() != std::vector{Protocol::airplay})
            state.SkipWithError("not connected through AirPlay");
        run(io, connection->close());
    }
    run(io, fake.stop());
}
BENCHMARK(BM_ConnectThroughTunnel)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PlistRoundTrip(benchmark::State& state) {
    const airplay::PlistValue setup = airplay::PlistDict{
        {"streams", airplay::PlistArray{airplay::PlistDict{
                        {"controlType", 2},
                        {"channelID", "6C5C8E3E-6B0A-4C55-9E0B-0F4B8A1D2E3F"},
                        {"seed", std::uint64_t{0x0123456789ABCDEF}},
                        {"clientUUID", "9A1B2C3D-4E5F-4A6B-8C7D-0E1F2A3B4C5D"},
                        {"type", 130},
                        {"wantsDedicatedSocket", true},
                        {"clientTypeUUID", "1910A70F-DBC0-4242-AF95-115DB30604E1"}}}}};
    for (auto _ : state) {
        const Bytes encoded = airplay::plist_encode(setup);
        benchmark::DoNotOptimize(airplay::plist_decode(encoded));
    }
}
BENCHMARK(BM_PlistRoundTrip);

}  // namespace

BENCHMARK_MAIN();
