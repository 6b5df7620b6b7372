// Figures for discovery: TXT parsing with the device rules, DNS decoding, device merging.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>

#include "atv/discovery.hpp"
#include "discovery/device_table.hpp"
#include "discovery/dns_message.hpp"
#include "discovery/txt.hpp"

namespace atv::discovery {
namespace {

Bytes txt(const std::vector<std::string>& entries) {
    Bytes out;
    for (const std::string& entry : entries) {
        out.push_back(static_cast<std::uint8_t>(entry.size()));
        out.insert(out.end(), entry.begin(), entry.end());
    }
    return out;
}

const std::vector<std::string> mrp_txt{
    "ModelName=Apple TV",
    "AllowPairing=YES",
    "macAddress=aa:bb:cc:dd:ee:ff",
    "BluetoothAddress=aa:bb:cc:dd:ee:f0",
    "Name=Living Room",
    "UniqueIdentifier=4D797FD3-3538-427E-A47B-A32FC6CF3A69",
    "SystemBuildVersion=18M60",
    "LocalAirPlayReceiverPairingIdentity=4D797FD3-3538-427E-A47B-A32FC6CF3A6A"};
const std::vector<std::string> airplay_txt{
    "acl=0",
    "deviceid=AA:BB:CC:DD:EE:FF",
    "features=0x5A7FFFF7,0x1E",
    "flags=0x244",
    "gid=4D797FD3-3538-427E-A47B-A32FC6CF3A6B",
    "igl=1",
    "gcgl=1",
    "model=AppleTV6,2",
    "protovers=1.1",
    "pi=2e388006-13ba-4041-9a67-25dd4a43d536",
    "psi=2e388006-13ba-4041-9a67-25dd4a43d537",
    "pk=aa0b5b44bd5d32b9ba1a63bb85a2a30a2e2e9e8dd0d1f2b2bd6e9b4e9bba1c2d",
    "srcvers=550.10",
    "osvers=14.7",
    "vv=2"};
const std::vector<std::string> companion_txt{
    "rpMac=2",           "rpHN=8ba73c8f0f31", "rpFl=0x36782",
    "rpHA=9948cfb6da55", "rpVr=715.2",        "rpMd=AppleTV6,2",
    "rpHI=e4ae0e9e4cbc", "rpAD=1c5ec3a8c4b5", "rpMRtID=4D797FD3-3538-427E-A47B-A32FC6CF3A69"};
const std::vector<std::string> raop_txt{
    "cn=0,1,2,3",
    "da=true",
    "et=0,3,5",
    "ft=0x5A7FFFF7,0x1E",
    "md=0,1,2",
    "am=AppleTV6,2",
    "pk=aa0b5b44bd5d32b9ba1a63bb85a2a30a2e2e9e8dd0d1f2b2bd6e9b4e9bba1c2d",
    "sf=0x244",
    "tp=UDP",
    "vn=65537",
    "vs=550.10",
    "ov=14.7",
    "vv=2"};

void BM_TxtParseAndCompleteAppleTv4k(benchmark::State& state) {
    const std::vector<std::pair<Protocol, Bytes>> records{{Protocol::mrp, txt(mrp_txt)},
                                                          {Protocol::airplay, txt(airplay_txt)},
                                                          {Protocol::companion, txt(companion_txt)},
                                                          {Protocol::raop, txt(raop_txt)}};
    for (auto _ : state) {
        DeviceConfig config;
        for (const auto& [protocol, rdata] : records) {
            ServiceConfig service;
            service.protocol = protocol;
            service.properties = parse_txt_rdata(rdata);
            config.services.push_back(std::move(service));
        }
        complete_device_config(config);
        benchmark::DoNotOptimize(config);
    }
}
BENCHMARK(BM_TxtParseAndCompleteAppleTv4k);

Bytes typical_reply() {
    dns::Message message;
    message.flags = 0x8400;
    const dns::Name host = dns::name_from_text("Living-Room.local");
    const std::vector<std::pair<std::string, const std::vector<std::string>*>> services{
        {"_mediaremotetv._tcp.local", &mrp_txt},
        {"_airplay._tcp.local", &airplay_txt},
        {"_companion-link._tcp.local", &companion_txt}};
    for (const auto& [type_text, entries] : services) {
        const dns::Name type = dns::name_from_text(type_text);
        dns::Name instance = type;
        instance.insert(instance.begin(), "Living Room");
        message.answers.push_back(dns::make_ptr(type, instance));
        message.additionals.push_back(dns::make_srv(instance, 7000, host));
        message.additionals.push_back(dns::make_txt(instance, *entries));
    }
    message.additionals.push_back(dns::make_a(host, "10.0.0.5"));
    return dns::encode(message);
}

void BM_DnsDecodeTypicalReply(benchmark::State& state) {
    const Bytes reply = typical_reply();
    for (auto _ : state) {
        auto message = dns::decode(reply);
        auto services = dns::parse_services(*message);
        benchmark::DoNotOptimize(services);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * reply.size()));
}
BENCHMARK(BM_DnsDecodeTypicalReply);

void BM_MergeThousandDevices(benchmark::State& state) {
    const Properties mrp = parse_txt_rdata(txt(mrp_txt));
    const Properties airplay = parse_txt_rdata(txt(airplay_txt));
    const Properties companion = parse_txt_rdata(txt(companion_txt));
    for (auto _ : state) {
        DeviceTable table;
        for (int i = 0; i < 1000; ++i) {
            char mac[18];
            std::snprintf(mac, sizeof mac, "02:00:00:00:%02X:%02X", (i >> 8) & 0xFF, i & 0xFF);
            const std::string name = "TV " + std::to_string(i);
            const std::string id = std::to_string(i);
            Properties mrp_props = mrp;
            mrp_props["UniqueIdentifier"] = "mrp-" + id;
            mrp_props["macAddress"] = mac;
            mrp_props["Name"] = name;
            Properties airplay_props = airplay;
            airplay_props["deviceid"] = mac;
            Properties companion_props = companion;
            companion_props["rpMRtID"] = "companion-" + id;
            std::string raop_name = mac;
            raop_name.erase(std::remove(raop_name.begin(), raop_name.end(), ':'), raop_name.end());
            table.upsert(id + "/mrp", {ServiceKind::mrp, name, "127.0.0.1", 49152, mrp_props});
            table.upsert(id + "/airplay",
                         {ServiceKind::airplay, name, "127.0.0.1", 7000, airplay_props});
            table.upsert(id + "/companion",
                         {ServiceKind::companion, name, "127.0.0.1", 49153, companion_props});
            table.upsert(id + "/raop",
                         {ServiceKind::raop, raop_name + "@" + name, "127.0.0.1", 7000, {}});
        }
        auto changes = table.take_changes();
        if (changes.size() != 1000) {
            state.SkipWithError("merging gave the wrong number of devices");
        }
        benchmark::DoNotOptimize(changes);
    }
}
BENCHMARK(BM_MergeThousandDevices)->Unit(benchmark::kMillisecond);

// The work between an Avahi resolve callback and the on_device event: one TXT update of one
// service in a table that already holds 1,000 devices, then collecting the change.
void BM_UpdateOneServiceAmongThousandDevices(benchmark::State& state) {
    const Properties airplay = parse_txt_rdata(txt(airplay_txt));
    DeviceTable table;
    for (int i = 0; i < 1000; ++i) {
        char mac[18];
        std::snprintf(mac, sizeof mac, "02:00:00:00:%02X:%02X", (i >> 8) & 0xFF, i & 0xFF);
        Properties props = airplay;
        props["deviceid"] = mac;
        table.upsert(std::to_string(i),
                     {ServiceKind::airplay, "TV " + std::to_string(i), "127.0.0.1", 7000, props});
    }
    (void)table.take_changes();
    int round = 0;
    for (auto _ : state) {
        Properties props = airplay;
        props["deviceid"] = "02:00:00:00:01:F4";
        props["osvers"] = std::to_string(round++);
        table.upsert("500", {ServiceKind::airplay, "TV 500", "127.0.0.1", 7000, props});
        auto changes = table.take_changes();
        benchmark::DoNotOptimize(changes);
    }
}
BENCHMARK(BM_UpdateOneServiceAmongThousandDevices);

}  // namespace
}  // namespace atv::discovery

BENCHMARK_MAIN();
