#include "discovery/device_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace atv::discovery {
namespace {

ServiceRecord record(ServiceKind kind, std::string instance, std::string address,
                     std::uint16_t port, Properties properties) {
    return ServiceRecord{kind, std::move(instance), std::move(address), port,
                         std::move(properties)};
}

void add_apple_tv(DeviceTable& table, const std::string& prefix, const std::string& name,
                  const std::string& address, const std::string& mac_hex) {
    std::string mac;
    for (std::size_t i = 0; i < mac_hex.size(); i += 2) {
        mac += (i > 0 ? ":" : "") + mac_hex.substr(i, 2);
    }
    table.upsert(prefix + "mrp", record(ServiceKind::mrp, name, address, 49152,
                                        {{"Name", name},
                                         {"UniqueIdentifier", prefix + "-mrp-uuid"},
                                         {"SystemBuildVersion", "18M60"},
                                         {"macAddress", mac},
                                         {"AllowPairing", "YES"}}));
    table.upsert(prefix + "airplay",
                 record(ServiceKind::airplay, name, address, 7000,
                        {{"deviceid", mac}, {"model", "AppleTV11,1"}, {"osvers", "14.7"}}));
    table.upsert(prefix + "companion",
                 record(ServiceKind::companion, name, address, 49153,
                        {{"rpMRtID", prefix + "-companion"}, {"rpFl", "0x36782"}}));
    table.upsert(prefix + "raop", record(ServiceKind::raop, mac_hex + "@" + name, address, 7000,
                                         {{"am", "AppleTV11,1"}}));
}

std::vector<DeviceTable::Change> only_devices(std::vector<DeviceTable::Change> changes) {
    changes.erase(std::remove_if(changes.begin(), changes.end(),
                                 [](const auto& change) { return !change.device; }),
                  changes.end());
    return changes;
}

TEST(DeviceTable, AppleTv4kServicesMergeIntoOneDevice) {
    DeviceTable table;
    add_apple_tv(table, "a", "Living Room", "10.0.0.5", "AABBCCDDEEFF");
    table.upsert("info", record(ServiceKind::device_info, "Living Room", "10.0.0.5", 0,
                                {{"model", "J305AP"}}));
    const auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    const DeviceConfig& device = *changes[0].device;
    EXPECT_EQ(device.name, "Living Room");
    EXPECT_EQ(device.address, "10.0.0.5");
    EXPECT_EQ(device.services.size(), 4U);
    EXPECT_EQ(device.identifier(), "a-mrp-uuid");
    EXPECT_EQ(device.all_identifiers().size(), 4U);
    EXPECT_EQ(device.service(Protocol::raop)->identifier, "AABBCCDDEEFF");
    EXPECT_EQ(device.service(Protocol::mrp)->pairing, PairingRequirement::optional);
    EXPECT_EQ(device.service(Protocol::companion)->pairing, PairingRequirement::mandatory);
    EXPECT_EQ(device.info.model, DeviceModel::apple_tv_4k_gen2);
    EXPECT_EQ(device.info.mac_address, "AA:BB:CC:DD:EE:FF");
    EXPECT_FALSE(device.deep_sleep);
}

TEST(DeviceTable, ADeviceInDeepSleepKeepsItsIdentityWithoutPorts) {
    DeviceTable table;
    table.upsert("mrp", record(ServiceKind::mrp, "Den", "10.0.0.5", 0,
                               {{"UniqueIdentifier", "den-uuid"}, {"Name", "Den"}}));
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.5", 0,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}}));
    auto changes = only_devices(table.take_changes());
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_TRUE(changes[0].device->deep_sleep);
    EXPECT_EQ(changes[0].device->identifier(), "den-uuid");
    ASSERT_NE(changes[0].device->service(Protocol::mrp), nullptr);
    EXPECT_EQ(changes[0].device->service(Protocol::mrp)->port, 0);

    // Awake, it announces its ports; a service still without one is then left out.
    table.upsert("mrp", record(ServiceKind::mrp, "Den", "10.0.0.5", 49152,
                               {{"UniqueIdentifier", "den-uuid"}, {"Name", "Den"}}));
    changes = only_devices(table.take_changes());
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_FALSE(changes[0].device->deep_sleep);
    EXPECT_EQ(changes[0].device->service(Protocol::mrp)->port, 49152);
    EXPECT_EQ(changes[0].device->service(Protocol::airplay), nullptr);
}

TEST(DeviceTable, MacIdentifiersMergeAcrossAddressesAndNames) {
    DeviceTable table;
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.5", 7000,
                                   {{"deviceid", "aa:bb:cc:dd:ee:ff"}}));
    table.upsert("raop", record(ServiceKind::raop, "AABBCCDDEEFF@Den TV", "10.0.0.6", 7000, {}));
    table.upsert("mrp", record(ServiceKind::mrp, "x", "10.0.0.7", 49152,
                               {{"UniqueIdentifier", "u"},
                                {"Name", "Other"},
                                {"macAddress", "AA-BB-CC-DD-EE-FF"}}));
    EXPECT_EQ(table.device_count(), 1U);
    const auto devices = table.devices();
    ASSERT_EQ(devices.size(), 1U);
    EXPECT_EQ(devices[0].second.services.size(), 3U);
}

TEST(DeviceTable, TwoDevicesOnOneAddressStayApart) {
    DeviceTable table;
    add_apple_tv(table, "a", "Living Room", "127.0.0.1", "AABBCCDDEEFF");
    add_apple_tv(table, "b", "Bedroom", "127.0.0.1", "112233445566");
    const auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 2U);
    EXPECT_NE(changes[0].key, changes[1].key);
    for (const auto& change : changes) {
        EXPECT_EQ(change.device->services.size(), 4U);
    }
}

TEST(DeviceTable, SharedIdentifierDoesNotJoinTwoInstancesOfOneType) {
    // Two devices that (wrongly) announce the same Companion id: each keeps its services.
    DeviceTable table;
    add_apple_tv(table, "a", "Bedroom", "127.0.0.1", "AABBCCDDEE20");
    table.upsert("acompanion", record(ServiceKind::companion, "Bedroom", "127.0.0.1", 49153,
                                      {{"rpMRtID", "same-id"}}));
    const auto first = table.take_changes();
    ASSERT_EQ(first.size(), 1U);
    const std::uint64_t bedroom = first[0].key;

    add_apple_tv(table, "b", "Office", "127.0.0.1", "AABBCCDDEE40");
    table.upsert("bcompanion", record(ServiceKind::companion, "Office", "127.0.0.1", 49153,
                                      {{"rpMRtID", "same-id"}}));
    (void)table.take_changes();
    const auto devices = table.devices();
    ASSERT_EQ(devices.size(), 2U);
    for (const auto& [key, device] : devices) {
        EXPECT_EQ(device.services.size(), 4U);
        EXPECT_EQ(key == bedroom, device.name == "Bedroom");
    }

    // Bedroom goes; Office is untouched and never carried Bedroom's key.
    for (const char* protocol : {"mrp", "airplay", "companion", "raop"}) {
        table.remove(std::string("a") + protocol);
    }
    const auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].key, bedroom);
    EXPECT_FALSE(changes[0].device.has_value());
}

TEST(DeviceTable, SameAddressAndNameMerge) {
    DeviceTable table;
    table.upsert("companion",
                 record(ServiceKind::companion, "Kitchen", "10.0.0.9", 49153, {{"rpMRtID", "c"}}));
    table.upsert("mrp", record(ServiceKind::mrp, "Kitchen", "10.0.0.9", 49152,
                               {{"UniqueIdentifier", "m"}, {"Name", "Kitchen"}}));
    EXPECT_EQ(table.device_count(), 1U);
}

TEST(DeviceTable, DmapTypesMergeIntoOneService) {
    DeviceTable table;
    table.upsert("touch", record(ServiceKind::dmap_touchable, "0000000000000ABC_1", "10.0.0.3",
                                 3689, {{"CtlN", "Old TV"}, {"DvTy", "AppleTV"}}));
    table.upsert("hs", record(ServiceKind::dmap_appletv_v2, "0000000000000ABC_2", "10.0.0.3", 3690,
                              {{"Name", "Old TV"}, {"hG", "guid"}, {"DvTy", "other"}}));
    const auto devices = table.devices();
    ASSERT_EQ(devices.size(), 1U);
    const DeviceConfig& device = devices[0].second;
    ASSERT_EQ(device.services.size(), 1U);
    const ServiceConfig& dmap = device.services[0];
    EXPECT_EQ(dmap.identifier, "0000000000000ABC");
    EXPECT_EQ(dmap.port, 3690);  // the first by type order (_appletv-v2) keeps its port
    EXPECT_EQ(dmap.properties.at("DvTy"), "other");
    EXPECT_EQ(dmap.properties.at("CtlN"), "Old TV");
    EXPECT_EQ(dmap.pairing, PairingRequirement::optional);
    EXPECT_EQ(device.info.os, OperatingSystem::legacy);
}

TEST(DeviceTable, KeyStaysWhileAnyServiceIsPresent) {
    DeviceTable table;
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.5", 7000,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}}));
    auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    const std::uint64_t key = changes[0].key;

    table.upsert("raop", record(ServiceKind::raop, "AABBCCDDEEFF@Den", "10.0.0.5", 7000, {}));
    changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].key, key);
    EXPECT_EQ(changes[0].device->services.size(), 2U);

    table.remove("airplay");
    changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].key, key);
    ASSERT_TRUE(changes[0].device.has_value());
    EXPECT_EQ(changes[0].device->services.size(), 1U);

    table.remove("raop");
    changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].key, key);
    EXPECT_FALSE(changes[0].device.has_value());
}

TEST(DeviceTable, ChangedTxtIsReportedAndUnchangedIsNot) {
    DeviceTable table;
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.5", 7000,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}, {"acl", "0"}}));
    (void)table.take_changes();
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.5", 7000,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}, {"acl", "0"}}));
    EXPECT_TRUE(table.take_changes().empty());
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.6", 7001,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}, {"acl", "1"}}));
    const auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].device->address, "10.0.0.6");
    EXPECT_EQ(changes[0].device->services[0].port, 7001);
    EXPECT_EQ(changes[0].device->services[0].pairing, PairingRequirement::disabled);
}

TEST(DeviceTable, BridgingRecordMergesTwoDevicesKeepingTheOlderKey) {
    DeviceTable table;
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "10.0.0.5", 7000,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}}));
    table.upsert("companion",
                 record(ServiceKind::companion, "Den TV", "10.0.0.8", 49153, {{"rpMRtID", "c"}}));
    auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 2U);
    const std::uint64_t older = std::min(changes[0].key, changes[1].key);
    const std::uint64_t newer = std::max(changes[0].key, changes[1].key);

    // MRP names the companion's device and carries the AirPlay MAC: one device now.
    table.upsert("mrp", record(ServiceKind::mrp, "x", "10.0.0.8", 49152,
                               {{"UniqueIdentifier", "m"},
                                {"Name", "Den TV"},
                                {"macAddress", "AA:BB:CC:DD:EE:FF"}}));
    changes = table.take_changes();
    ASSERT_EQ(changes.size(), 2U);
    for (const auto& change : changes) {
        if (change.key == older) {
            ASSERT_TRUE(change.device.has_value());
            EXPECT_EQ(change.device->services.size(), 3U);
        } else {
            EXPECT_EQ(change.key, newer);
            EXPECT_FALSE(change.device.has_value());
        }
    }
    // Taking the bridge away splits them again; the older key stays with one part.
    table.remove("mrp");
    changes = only_devices(table.take_changes());
    ASSERT_EQ(changes.size(), 2U);
    EXPECT_TRUE(changes[0].key == older || changes[1].key == older);
    EXPECT_EQ(table.device_count(), 2U);
}

TEST(DeviceTable, HelperTypesAloneMakeNoDevice) {
    DeviceTable table;
    table.upsert("info",
                 record(ServiceKind::device_info, "Den", "10.0.0.5", 0, {{"model", "J305AP"}}));
    table.upsert("proxy",
                 record(ServiceKind::sleep_proxy, "70-35-60-63.1 Den", "10.0.0.5", 5353, {}));
    EXPECT_TRUE(table.take_changes().empty());
    EXPECT_EQ(table.device_count(), 0U);
    // Address-less services are not protocol services either (port-0 ones only while the
    // device is asleep: ADeviceInDeepSleepKeepsItsIdentityWithoutPorts).
    table.upsert("airplay", record(ServiceKind::airplay, "Den", "", 7000,
                                   {{"deviceid", "AA:BB:CC:DD:EE:FF"}}));
    EXPECT_EQ(table.device_count(), 0U);
}

TEST(DeviceTable, DeviceInfoModelIsUsedWhenNoServiceNamesOne) {
    DeviceTable table;
    table.upsert("mrp", record(ServiceKind::mrp, "x", "10.0.0.5", 49152,
                               {{"UniqueIdentifier", "m"}, {"Name", "Den"}}));
    table.upsert("info",
                 record(ServiceKind::device_info, "Den", "10.0.0.5", 0, {{"model", "J255AP"}}));
    const auto devices = table.devices();
    ASSERT_EQ(devices.size(), 1U);
    EXPECT_EQ(devices[0].second.info.model, DeviceModel::apple_tv_4k_gen3);
}

TEST(DeviceTable, AirportWamaGivesMacAndVersion) {
    DeviceTable table;
    table.upsert("raop", record(ServiceKind::raop, "001122AABBCC@Express", "10.0.0.2", 5000,
                                {{"am", "AirPort10,115"}}));
    table.upsert("airport", record(ServiceKind::airport, "Express", "10.0.0.2", 5009,
                                   {{"wama", "00-11-22-AA-BB-CC,raMA=x,syVs=7.8.1"}}));
    const auto devices = table.devices();
    ASSERT_EQ(devices.size(), 1U);
    EXPECT_EQ(devices[0].second.info.mac_address, "00:11:22:AA:BB:CC");
    EXPECT_EQ(devices[0].second.info.version, "7.8.1");
    EXPECT_EQ(devices[0].second.info.os, OperatingSystem::airportos);
}

TEST(DeviceTable, ChurnLeavesNothingBehind) {
    DeviceTable table;
    for (int round = 0; round < 1000; ++round) {
        table.upsert("flap", record(ServiceKind::airplay, "Flappy", "127.0.0.1", 7000,
                                    {{"deviceid", "AA:BB:CC:DD:EE:FF"}}));
        const auto appeared = table.take_changes();
        ASSERT_EQ(appeared.size(), 1U);
        table.remove("flap");
        const auto gone = table.take_changes();
        ASSERT_EQ(gone.size(), 1U);
        ASSERT_FALSE(gone[0].device.has_value());
    }
    EXPECT_EQ(table.record_count(), 0U);
    EXPECT_EQ(table.device_count(), 0U);
}

TEST(DeviceTable, ClearReportsEveryDeviceGone) {
    DeviceTable table;
    add_apple_tv(table, "a", "Living Room", "127.0.0.1", "AABBCCDDEEFF");
    add_apple_tv(table, "b", "Bedroom", "127.0.0.1", "112233445566");
    (void)table.take_changes();
    table.clear();
    const auto changes = table.take_changes();
    ASSERT_EQ(changes.size(), 2U);
    EXPECT_FALSE(changes[0].device.has_value());
    EXPECT_FALSE(changes[1].device.has_value());
}

TEST(DeviceTable, ThousandDevices) {
    DeviceTable table;
    for (int i = 0; i < 1000; ++i) {
        char mac[13];
        std::snprintf(mac, sizeof mac, "0000000%05X", i);
        add_apple_tv(table, "d" + std::to_string(i), "TV " + std::to_string(i), "127.0.0.1", mac);
    }
    EXPECT_EQ(table.take_changes().size(), 1000U);
    EXPECT_EQ(table.device_count(), 1000U);
}

}  // namespace
}  // namespace atv::discovery
