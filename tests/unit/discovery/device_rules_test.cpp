#include "discovery/device_rules.hpp"

#include <gtest/gtest.h>

#include "atv/discovery.hpp"

namespace atv::discovery {
namespace {

// ---- service types, identifiers, names ----

TEST(ServiceTypes, EveryBrowsedTypeIsKnown) {
    EXPECT_EQ(service_types().size(), 10U);
    EXPECT_EQ(find_service_type("_mediaremotetv._tcp")->protocol, Protocol::mrp);
    EXPECT_EQ(find_service_type("_airplay._tcp.local")->protocol, Protocol::airplay);
    EXPECT_EQ(find_service_type("_companion-link._tcp.local.")->protocol, Protocol::companion);
    EXPECT_EQ(find_service_type("_RAOP._TCP")->protocol, Protocol::raop);
    EXPECT_EQ(find_service_type("_touch-able._tcp")->protocol, Protocol::dmap);
    EXPECT_EQ(find_service_type("_appletv-v2._tcp")->protocol, Protocol::dmap);
    EXPECT_EQ(find_service_type("_hscp._tcp")->protocol, Protocol::dmap);
    EXPECT_FALSE(find_service_type("_device-info._tcp")->protocol.has_value());
    EXPECT_EQ(find_service_type("_sleep-proxy._udp")->kind, ServiceKind::sleep_proxy);
    EXPECT_EQ(find_service_type("_airport._tcp")->kind, ServiceKind::airport);
    EXPECT_FALSE(find_service_type("_http._tcp").has_value());
}

TEST(Identifiers, PerServiceType) {
    EXPECT_EQ(unique_identifier(ServiceKind::mrp, "x", {{"UniqueIdentifier", "U-1"}}), "U-1");
    EXPECT_EQ(unique_identifier(ServiceKind::airplay, "x", {{"deviceid", "AA:BB:CC:DD:EE:FF"}}),
              "AA:BB:CC:DD:EE:FF");
    EXPECT_EQ(unique_identifier(ServiceKind::companion, "x", {{"rpMRtID", "C-1"}}), "C-1");
    EXPECT_EQ(unique_identifier(ServiceKind::raop, "AABBCCDDEEFF@Living Room", {}), "AABBCCDDEEFF");
    EXPECT_EQ(unique_identifier(ServiceKind::raop, "Speaker", {{"pk", "abcd"}}), "abcd");
    EXPECT_EQ(unique_identifier(ServiceKind::dmap_touchable, "0000000000000ABC_1", {}),
              "0000000000000ABC");
    EXPECT_EQ(unique_identifier(ServiceKind::dmap_appletv_v2, "0000000000000ABC_2", {}),
              "0000000000000ABC");
    EXPECT_EQ(unique_identifier(ServiceKind::dmap_hscp, "x", {{"Machine ID", "M1"}}), "M1");
    EXPECT_EQ(unique_identifier(ServiceKind::device_info, "x", {{"model", "J305AP"}}), "");
    EXPECT_EQ(unique_identifier(ServiceKind::mrp, "x", {}), "");
}

TEST(DeviceNames, PerServiceType) {
    EXPECT_EQ(device_name(ServiceKind::mrp, "x", {{"Name", "Kitchen"}}), "Kitchen");
    EXPECT_EQ(device_name(ServiceKind::mrp, "x", {}), "Unknown");
    EXPECT_EQ(device_name(ServiceKind::airplay, "Living Room", {}), "Living Room");
    EXPECT_EQ(device_name(ServiceKind::companion, "Living Room", {}), "Living Room");
    EXPECT_EQ(device_name(ServiceKind::raop, "AABBCCDDEEFF@Living Room", {}), "Living Room");
    EXPECT_EQ(device_name(ServiceKind::raop, "Speaker", {}), "Speaker");
    EXPECT_EQ(device_name(ServiceKind::dmap_touchable, "ABC_1", {{"CtlN", "Den"}}), "Den");
    EXPECT_EQ(device_name(ServiceKind::dmap_appletv_v2, "ABC_2", {{"Name", "Den"}}), "Den");
    EXPECT_EQ(device_name(ServiceKind::dmap_hscp, "x", {{"Machine Name", "Music"}}), "Music");
    EXPECT_EQ(device_name(ServiceKind::sleep_proxy, "70-35-60-63.1 Living Room", {}),
              "Living Room");
    EXPECT_EQ(device_name(ServiceKind::device_info, "Living Room", {}), "Living Room");
}

TEST(MacAddresses, NormalisedToUpperCaseColonForm) {
    EXPECT_EQ(normalize_mac("aabbccddeeff"), "AA:BB:CC:DD:EE:FF");
    EXPECT_EQ(normalize_mac("aa:bb:cc:dd:ee:ff"), "AA:BB:CC:DD:EE:FF");
    EXPECT_EQ(normalize_mac("AA-BB-CC-DD-EE-FF"), "AA:BB:CC:DD:EE:FF");
    EXPECT_FALSE(normalize_mac("AA:BB-CC:DD:EE:FF").has_value());
    EXPECT_FALSE(normalize_mac("GGBBCCDDEEFF").has_value());
    EXPECT_FALSE(normalize_mac("6D7C2F3A-1B2C-4D5E-8F90-A1B2C3D4E5F6").has_value());
    EXPECT_FALSE(normalize_mac("").has_value());
}

// ---- model, OS and version tables ----

TEST(Models, IdentifierTable) {
    EXPECT_EQ(lookup_model("AirPort4,107"), DeviceModel::airport_express);
    EXPECT_EQ(lookup_model("AirPort10,115"), DeviceModel::airport_express_gen2);
    EXPECT_EQ(lookup_model("AppleTV1,1"), DeviceModel::apple_tv_gen1);
    EXPECT_EQ(lookup_model("AppleTV2,1"), DeviceModel::gen2);
    EXPECT_EQ(lookup_model("AppleTV3,1"), DeviceModel::gen3);
    EXPECT_EQ(lookup_model("AppleTV3,2"), DeviceModel::gen3);
    EXPECT_EQ(lookup_model("AppleTV5,3"), DeviceModel::gen4);
    EXPECT_EQ(lookup_model("AppleTV6,2"), DeviceModel::gen4k);
    EXPECT_EQ(lookup_model("AppleTV11,1"), DeviceModel::apple_tv_4k_gen2);
    EXPECT_EQ(lookup_model("AppleTV14,1"), DeviceModel::apple_tv_4k_gen3);
    EXPECT_EQ(lookup_model("AudioAccessory1,1"), DeviceModel::homepod);
    EXPECT_EQ(lookup_model("AudioAccessory1,2"), DeviceModel::homepod);
    EXPECT_EQ(lookup_model("AudioAccessory5,1"), DeviceModel::homepod_mini);
    EXPECT_EQ(lookup_model("AudioAccessory6,1"), DeviceModel::homepod_gen2);
    EXPECT_EQ(lookup_model("AppleTV99,9"), DeviceModel::unknown);
    EXPECT_EQ(lookup_model(""), DeviceModel::unknown);
}

TEST(Models, InternalNameTable) {
    EXPECT_EQ(lookup_internal_name("K66AP"), DeviceModel::gen2);
    EXPECT_EQ(lookup_internal_name("J33AP"), DeviceModel::gen3);
    EXPECT_EQ(lookup_internal_name("J33IAP"), DeviceModel::gen3);
    EXPECT_EQ(lookup_internal_name("J42dAP"), DeviceModel::gen4);
    EXPECT_EQ(lookup_internal_name("J105aAP"), DeviceModel::gen4k);
    EXPECT_EQ(lookup_internal_name("J305AP"), DeviceModel::apple_tv_4k_gen2);
    EXPECT_EQ(lookup_internal_name("J255AP"), DeviceModel::apple_tv_4k_gen3);
    EXPECT_EQ(lookup_internal_name("J999AP"), DeviceModel::unknown);
}

TEST(Versions, FromBuildTableAndFallback) {
    EXPECT_EQ(lookup_version("17K795"), "13.3.1");
    EXPECT_EQ(lookup_version("17J586"), "13.0");
    EXPECT_EQ(lookup_version("19J346"), "15.0");
    EXPECT_EQ(lookup_version("20L563"), "16.5");
    EXPECT_EQ(lookup_version("22J580"), "18.1");
    EXPECT_EQ(lookup_version("21A123"), "17.x");
    EXPECT_EQ(lookup_version("16M123"), "12.x");
    EXPECT_FALSE(lookup_version("").has_value());
    EXPECT_FALSE(lookup_version("abc").has_value());
    EXPECT_FALSE(lookup_version("17").has_value());
    EXPECT_FALSE(lookup_version("17k1").has_value());
}

TEST(Models, MacPatterns) {
    for (const char* model :
         {"MacBookAir8,1", "iMac20,1", "Macmini9,1", "MacBookPro16,1", "Mac14,2", "MacPro7,1"}) {
        EXPECT_TRUE(is_mac_model(model)) << model;
    }
    for (const char* model : {"AppleTV6,2", "MacBook", "Mac14", "iMac,1", "Mac14,"}) {
        EXPECT_FALSE(is_mac_model(model)) << model;
    }
}

TEST(Airport, WamaGivesMacAndVersion) {
    const AirportInfo info =
        parse_wama("00-11-22-AA-BB-CC,raMA=00-11-22-AA-BB-CD,syVs=7.8.1,srcv=78100.3");
    EXPECT_EQ(info.mac_address, "00:11:22:AA:BB:CC");
    EXPECT_EQ(info.version, "7.8.1");
}

// ---- pairing requirements (protocols.md §2), one test per row condition ----

TEST(MrpPairing, DisabledServiceOnTvOs15IsNotNeeded) {
    const Properties properties{{"SystemBuildVersion", "19J346"}, {"AllowPairing", "YES"}};
    EXPECT_FALSE(mrp_enabled(properties));
    EXPECT_EQ(mrp_pairing(properties, mrp_enabled(properties)), PairingRequirement::not_needed);
}

TEST(MrpPairing, AllowPairingYesIsOptional) {
    const Properties properties{{"SystemBuildVersion", "18M60"}, {"allowpairing", "yes"}};
    EXPECT_TRUE(mrp_enabled(properties));
    EXPECT_EQ(mrp_pairing(properties, true), PairingRequirement::optional);
}

TEST(MrpPairing, OtherwiseDisabled) {
    EXPECT_EQ(mrp_pairing({{"AllowPairing", "NO"}}, true), PairingRequirement::disabled);
    EXPECT_EQ(mrp_pairing({}, true), PairingRequirement::disabled);
}

TEST(MrpPairing, EnabledWithoutOrWithOldBuild) {
    EXPECT_TRUE(mrp_enabled({}));
    EXPECT_TRUE(mrp_enabled({{"SystemBuildVersion", "18M60"}}));
    EXPECT_TRUE(mrp_enabled({{"SystemBuildVersion", "garbage"}}));
    EXPECT_FALSE(mrp_enabled({{"SystemBuildVersion", "22J580"}}));
}

TEST(AirPlayPairing, AclOneIsDisabled) {
    EXPECT_EQ(airplay_pairing({{"acl", "1"}, {"sf", "0x200"}}), PairingRequirement::disabled);
}

TEST(AirPlayPairing, MacModelIsUnsupported) {
    EXPECT_EQ(airplay_pairing({{"model", "Mac14,2"}, {"sf", "0x200"}}),
              PairingRequirement::unsupported);
    // Only "Mac<digits>,<digits>" matches this rule.
    EXPECT_EQ(airplay_pairing({{"model", "MacBookPro16,1"}}), PairingRequirement::not_needed);
}

TEST(AirPlayPairing, PinBitIsMandatory) {
    EXPECT_EQ(airplay_pairing({{"sf", "0x200"}}), PairingRequirement::mandatory);
}

TEST(AirPlayPairing, PasswordOrPinRequiredBitIsMandatory) {
    EXPECT_EQ(airplay_pairing({{"flags", "0x8"}}), PairingRequirement::mandatory);
}

TEST(AirPlayPairing, SfTakesPrecedenceOverFlags) {
    EXPECT_EQ(airplay_pairing({{"sf", "0x4"}, {"flags", "0x200"}}), PairingRequirement::not_needed);
}

TEST(AirPlayPairing, CurrentUserAccessIsUnsupported) {
    EXPECT_EQ(airplay_pairing({{"act", "2"}}), PairingRequirement::unsupported);
}

TEST(AirPlayPairing, OtherwiseNotNeeded) {
    EXPECT_EQ(airplay_pairing({}), PairingRequirement::not_needed);
    EXPECT_EQ(airplay_pairing({{"sf", "garbage"}, {"acl", "0"}}), PairingRequirement::not_needed);
}

TEST(RaopPairing, AirPlayAclOneIsDisabled) {
    const Properties airplay{{"acl", "1"}};
    EXPECT_EQ(raop_pairing({{"sf", "0x200"}}, &airplay), PairingRequirement::disabled);
}

TEST(RaopPairing, AirPlayCurrentUserAccessIsUnsupported) {
    const Properties airplay{{"act", "2"}};
    EXPECT_EQ(raop_pairing({{"sf", "0x200"}}, &airplay), PairingRequirement::unsupported);
}

TEST(RaopPairing, OtherwiseTheAirPlayRuleOnItsOwnTxt) {
    const Properties airplay{{"sf", "0x200"}};
    EXPECT_EQ(raop_pairing({}, &airplay), PairingRequirement::not_needed);
    EXPECT_EQ(raop_pairing({{"sf", "0x200"}}, &airplay), PairingRequirement::mandatory);
    EXPECT_EQ(raop_pairing({{"acl", "1"}}, nullptr), PairingRequirement::disabled);
    EXPECT_EQ(raop_pairing({{"am", "Mac14,2"}}, nullptr), PairingRequirement::not_needed);
    EXPECT_EQ(raop_pairing({{"act", "2"}}, nullptr), PairingRequirement::unsupported);
}

TEST(CompanionPairing, Bit4IsDisabled) {
    EXPECT_EQ(companion_pairing({{"rpFl", "0x627B6"}}), PairingRequirement::disabled);
}

TEST(CompanionPairing, Bit4000IsMandatory) {
    EXPECT_EQ(companion_pairing({{"rpFl", "0x36782"}}), PairingRequirement::mandatory);
    EXPECT_EQ(companion_pairing({{"rpfl", "0x367A2"}}), PairingRequirement::mandatory);
}

TEST(CompanionPairing, OtherwiseUnsupported) {
    EXPECT_EQ(companion_pairing({{"rpFl", "0x627B2"}}), PairingRequirement::unsupported);
    EXPECT_EQ(companion_pairing({}), PairingRequirement::unsupported);
}

TEST(DmapPairing, HomeSharingGuidIsOptional) {
    EXPECT_EQ(dmap_pairing({{"hG", "00000000-1111-2222-3333-444444444444"}}),
              PairingRequirement::optional);
}

TEST(DmapPairing, OtherwiseMandatory) {
    EXPECT_EQ(dmap_pairing({{"CtlN", "Den"}}), PairingRequirement::mandatory);
}

TEST(Password, PwTrue) {
    EXPECT_TRUE(requires_password({{"pw", "TRUE"}}));
    EXPECT_FALSE(requires_password({{"pw", "false"}}));
}

TEST(Password, FlagBit80) {
    EXPECT_TRUE(requires_password({{"sf", "0x80"}}));
    EXPECT_TRUE(requires_password({{"flags", "0x84"}}));
    EXPECT_FALSE(requires_password({{"sf", "0x4"}, {"flags", "0x80"}}));
    EXPECT_FALSE(requires_password({}));
}

// ---- complete_device_config ----

ServiceConfig service(Protocol protocol, Properties properties) {
    ServiceConfig config;
    config.protocol = protocol;
    config.port = 1000;
    config.identifier = "id-" + std::string(to_string(protocol));
    config.properties = std::move(properties);
    return config;
}

TEST(CompleteDeviceConfig, AppleTv4k) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::mrp, {{"SystemBuildVersion", "18M60"},
                                                      {"macAddress", "aa:bb:cc:dd:ee:ff"},
                                                      {"AllowPairing", "YES"}}));
    config.services.push_back(service(Protocol::airplay, {{"model", "AppleTV11,1"},
                                                          {"osvers", "14.7"},
                                                          {"deviceid", "AA:BB:CC:DD:EE:FF"},
                                                          {"features", "0x5A7FFFF7,0x1E"},
                                                          {"sf", "0x44"}}));
    config.services.push_back(service(Protocol::companion, {{"rpFl", "0x36782"}}));
    config.services.push_back(service(Protocol::raop, {{"am", "AppleTV11,1"}, {"sf", "0x44"}}));
    complete_device_config(config);

    EXPECT_EQ(config.service(Protocol::mrp)->pairing, PairingRequirement::optional);
    EXPECT_TRUE(config.service(Protocol::mrp)->enabled);
    EXPECT_EQ(config.service(Protocol::airplay)->pairing, PairingRequirement::not_needed);
    EXPECT_EQ(config.service(Protocol::companion)->pairing, PairingRequirement::mandatory);
    EXPECT_EQ(config.service(Protocol::raop)->pairing, PairingRequirement::not_needed);
    EXPECT_FALSE(config.service(Protocol::raop)->requires_password);
    EXPECT_EQ(config.info.model, DeviceModel::apple_tv_4k_gen2);
    EXPECT_EQ(config.info.model_identifier, "AppleTV11,1");
    EXPECT_EQ(config.info.os, OperatingSystem::tvos);
    EXPECT_EQ(config.info.version, "14.7");
    EXPECT_EQ(config.info.build_number, "18M60");
    EXPECT_EQ(config.info.mac_address, "AA:BB:CC:DD:EE:FF");
}

TEST(CompleteDeviceConfig, TvOs15DisablesMrpAndTakesVersionFromBuild) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::mrp, {{"SystemBuildVersion", "19J346"}}));
    complete_device_config(config);
    EXPECT_FALSE(config.services[0].enabled);
    EXPECT_EQ(config.services[0].pairing, PairingRequirement::not_needed);
    EXPECT_EQ(config.info.version, "15.0");
    EXPECT_EQ(config.info.os, OperatingSystem::tvos);
}

TEST(CompleteDeviceConfig, RaopUsesTheAirPlayServiceOfTheDevice) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::airplay, {{"acl", "1"}}));
    config.services.push_back(service(Protocol::raop, {{"pw", "true"}}));
    complete_device_config(config);
    EXPECT_EQ(config.service(Protocol::raop)->pairing, PairingRequirement::disabled);
    EXPECT_TRUE(config.service(Protocol::raop)->requires_password);
}

TEST(CompleteDeviceConfig, MacOsFromAirPlayModel) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::airplay, {{"model", "MacBookPro16,1"}}));
    complete_device_config(config);
    EXPECT_EQ(config.info.os, OperatingSystem::macos);
    EXPECT_EQ(config.info.model, DeviceModel::unknown);
    EXPECT_EQ(config.info.model_identifier, "MacBookPro16,1");
}

TEST(CompleteDeviceConfig, MacOsFromRaopModel) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::raop, {{"am", "Mac14,2"}, {"ov", "14.1"}}));
    complete_device_config(config);
    EXPECT_EQ(config.info.os, OperatingSystem::macos);
    EXPECT_EQ(config.info.version, "14.1");
}

TEST(CompleteDeviceConfig, DmapIsLegacyAndHscpIsMusic) {
    DeviceConfig config;
    config.services.push_back(
        service(Protocol::dmap, {{"Machine Name", "Library"}, {"Machine ID", "M1"}}));
    complete_device_config(config);
    EXPECT_EQ(config.info.os, OperatingSystem::legacy);
    EXPECT_EQ(config.info.model, DeviceModel::music);
    EXPECT_EQ(config.services[0].pairing, PairingRequirement::mandatory);
}

TEST(CompleteDeviceConfig, OsFromModel) {
    DeviceConfig airport;
    airport.services.push_back(service(Protocol::raop, {{"am", "AirPort10,115"}}));
    complete_device_config(airport);
    EXPECT_EQ(airport.info.os, OperatingSystem::airportos);
    EXPECT_EQ(airport.info.model, DeviceModel::airport_express_gen2);

    DeviceConfig homepod;
    homepod.services.push_back(service(Protocol::airplay, {{"model", "AudioAccessory5,1"}}));
    complete_device_config(homepod);
    EXPECT_EQ(homepod.info.os, OperatingSystem::tvos);
    EXPECT_EQ(homepod.info.model, DeviceModel::homepod_mini);

    DeviceConfig unknown;
    unknown.services.push_back(service(Protocol::airplay, {}));
    complete_device_config(unknown);
    EXPECT_EQ(unknown.info.os, OperatingSystem::unknown);
}

TEST(CompleteDeviceConfig, CompanionModelAndFirstWriterWins) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::companion, {{"rpMd", "AppleTV6,2"}}));
    config.services.push_back(service(Protocol::raop, {{"am", "AppleTV14,1"}}));
    complete_device_config(config);
    EXPECT_EQ(config.info.model, DeviceModel::gen4k);
}

TEST(CompleteDeviceConfig, HintsFillOnlyWhatServicesLeaveOpen) {
    DeviceConfig config;
    config.info.model = DeviceModel::apple_tv_4k_gen3;
    config.info.model_identifier = "J255AP";
    config.info.mac_address = "00:11:22:33:44:55";
    config.services.push_back(service(Protocol::mrp, {{"macAddress", "AA:BB:CC:DD:EE:FF"}}));
    complete_device_config(config);
    EXPECT_EQ(config.info.model, DeviceModel::apple_tv_4k_gen3);
    EXPECT_EQ(config.info.model_identifier, "J255AP");
    EXPECT_EQ(config.info.mac_address, "AA:BB:CC:DD:EE:FF");
}

TEST(CompleteDeviceConfig, PairingIgnoresCredentialsAndIsRecomputed) {
    DeviceConfig config;
    config.services.push_back(service(Protocol::dmap, {{"hG", "guid"}}));
    config.services[0].pairing = PairingRequirement::unsupported;
    complete_device_config(config);
    EXPECT_EQ(config.services[0].pairing, PairingRequirement::optional);
}

}  // namespace
}  // namespace atv::discovery
