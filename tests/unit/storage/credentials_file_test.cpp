// The text formats of the secrets store: round trips, strict rejection, file names.
#include "storage/credentials_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "atv/error.hpp"

namespace atv::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

StoredDevice full_device() {
    StoredDevice device;
    device.device_id = "AA:BB:CC:DD:EE:FF";
    device.identifiers = {"AA:BB:CC:DD:EE:FF", "6D7F6B8E-2D7B-4C0E-9C3E-5B0C2D8A9F11",
                          "with space and %25 and\nnewline"};
    device.name = "Wohnzimmer – Apple TV 100%\t\x7f";
    device.credentials = {
        {Protocol::mrp, "0a1b:2c3d:4e5f:6071"},
        {Protocol::airplay, "7472616e7369656e74:::"},
        {Protocol::companion, "aa:bb:cc:dd"},
        {Protocol::dmap, "0x0123456789ABCDEF"},
        {Protocol::raop, std::string("binary\0zero", 11)},
    };
    return device;
}

std::string error_of(std::string_view text) {
    try {
        parse_device(text);
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
        return error.what();
    }
    ADD_FAILURE() << "accepted a malformed file";
    return {};
}

constexpr std::string_view minimal = "atvd-credentials 1\ndevice-id x\nname n\nend\n";

TEST(CredentialsFile, RoundTripKeepsEveryField) {
    const StoredDevice device = full_device();
    const std::string text = serialize_device(device);
    EXPECT_EQ(parse_device(text), device);
}

TEST(CredentialsFile, TextIsReadableAndEscapesOnlyWhatItMust) {
    const std::string text = serialize_device(full_device());
    EXPECT_THAT(text, StartsWith("atvd-credentials 1\ndevice-id AA:BB:CC:DD:EE:FF\n"));
    EXPECT_THAT(text, HasSubstr("name Wohnzimmer – Apple TV 100%25%09%7F\n"));
    EXPECT_THAT(text, HasSubstr("identifier with space and %2525 and%0Anewline\n"));
    EXPECT_THAT(text, HasSubstr("credentials mrp 0a1b:2c3d:4e5f:6071\n"));
    EXPECT_THAT(text, HasSubstr("credentials raop binary%00zero\n"));
    EXPECT_TRUE(text.ends_with("\nend\n"));
}

TEST(CredentialsFile, MinimalDeviceRoundTrips) {
    StoredDevice device;
    device.device_id = "id";
    const StoredDevice parsed = parse_device(serialize_device(device));
    EXPECT_EQ(parsed, device);
    EXPECT_EQ(parse_device(minimal).device_id, "x");
    EXPECT_EQ(parse_device("atvd-credentials 1\ndevice-id x\nname\nend\n").name, "");
}

TEST(CredentialsFile, AutoConnectIsKeptOnlyWhenOn) {
    StoredDevice device = full_device();
    device.auto_connect = true;
    const std::string text = serialize_device(device);
    EXPECT_THAT(text, HasSubstr("\nauto-connect yes\ncredentials "));
    EXPECT_EQ(parse_device(text), device);
    EXPECT_THAT(serialize_device(full_device()), Not(HasSubstr("auto-connect")));
    EXPECT_FALSE(parse_device(minimal).auto_connect);
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\nauto-connect no\nend\n"),
                HasSubstr("'auto-connect' takes 'yes'"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\nauto-connect yes\n"
                         "auto-connect yes\nend\n"),
                HasSubstr("expected 'credentials' or 'end'"));
}

TEST(CredentialsFile, DeviceAddedByHandKeepsItsAddressAndServices) {
    StoredDevice device = full_device();
    device.auto_connect = true;
    device.address = "10.0.0.2";
    StoredService mrp;
    mrp.protocol = Protocol::mrp;
    mrp.port = 49152;
    mrp.identifier = "6D7F6B8E-2D7B-4C0E-9C3E-5B0C2D8A9F11";
    mrp.properties = {{"Name", "Living Room"}, {"odd key", "100%\n"}};
    StoredService companion;
    companion.protocol = Protocol::companion;
    companion.port = 49153;
    device.services = {mrp, companion};
    const std::string text = serialize_device(device);
    EXPECT_THAT(text, HasSubstr("\nauto-connect yes\naddress 10.0.0.2\n"
                                "service mrp 49152 6D7F6B8E-2D7B-4C0E-9C3E-5B0C2D8A9F11\n"
                                "property Name Living Room\nproperty odd%20key 100%25%0A\n"
                                "service companion 49153 \ncredentials "));
    EXPECT_EQ(parse_device(text), device);
    EXPECT_THAT(serialize_device(full_device()), Not(HasSubstr("address")));
}

TEST(CredentialsFile, RejectsMalformedServicesOfADeviceAddedByHand) {
    const std::string head = "atvd-credentials 1\ndevice-id x\nname n\n";
    EXPECT_THAT(error_of(head + "address 10.0.0.2\nend\n"), HasSubstr("at least one 'service'"));
    EXPECT_THAT(error_of(head + "address \nservice mrp 1 x\nend\n"), HasSubstr("address is empty"));
    EXPECT_THAT(error_of(head + "address a\nservice warp 1 x\nend\n"),
                HasSubstr("unknown protocol"));
    for (const char* port : {"0", "65536", "-1", "", "1x", "999999"}) {
        EXPECT_THAT(error_of(head + "address a\nservice mrp " + port + " x\nend\n"),
                    HasSubstr("port must be a number"))
            << port;
    }
    const std::pair<const char*, const char*> refusals[] = {
        {"address a\nservice mrp 1\n", "expected 'service PROTOCOL PORT IDENTIFIER'"},
        {"address a\nservice mrp 1 x\nservice mrp 2 y\n", "second 'service' line"},
        {"address a\nproperty k v\n", "'property' before any 'service'"},
        {"address a\nservice mrp 1 x\nproperty k\n", "expected 'property KEY VALUE'"},
        {"address a\nservice mrp 1 x\nproperty k v\nproperty k w\n", "the same property twice"},
        {"service mrp 1 x\n", "expected 'credentials' or 'end'"},
    };
    for (const auto& [lines, problem] : refusals) {
        EXPECT_THAT(error_of(head + lines + "end\n"), HasSubstr(problem)) << lines;
    }
}

TEST(CredentialsFile, SerializeRefusesEmptyIdAndOversizedContent) {
    StoredDevice device;
    try {
        serialize_device(device);
        ADD_FAILURE() << "stored a device without id";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::device_id_missing);
    }
    device.device_id = "id";
    device.name = std::string(max_file_size, 'n');
    EXPECT_THROW(serialize_device(device), Error);
}

TEST(CredentialsFile, RejectsWrongHeaderAndVersion) {
    EXPECT_THAT(error_of(""), HasSubstr("line 1: the file ends early"));
    EXPECT_THAT(error_of("atvd-credentials 2\ndevice-id x\nname n\nend\n"),
                HasSubstr("line 1: unsupported format version"));
    EXPECT_THAT(error_of("{\"version\": 1}\n"), HasSubstr("line 1: not a file of this kind"));
    EXPECT_THAT(error_of("atvd-identity 1\n"), HasSubstr("line 1: not a file of this kind"));
}

TEST(CredentialsFile, RejectsTruncationAndTrailingText) {
    const std::string text(minimal);
    for (std::size_t length = 0; length < text.size(); ++length) {
        EXPECT_THROW(parse_device(text.substr(0, length)), Error) << "length " << length;
    }
    EXPECT_THAT(error_of(text + "x\n"), HasSubstr("line 5: unexpected text after 'end'"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\nend"),
                HasSubstr("line 4: the last line has no line feed"));
    // One spelling of the last line: "end " is not "end".
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\nend \n"),
                HasSubstr("line 4: expected 'credentials' or 'end'"));
}

TEST(CredentialsFile, RejectsWrongOrderUnknownKeysAndBadValues) {
    EXPECT_THAT(error_of("atvd-credentials 1\nname n\ndevice-id x\nend\n"),
                HasSubstr("line 2: expected 'device-id'"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id \nname n\nend\n"),
                HasSubstr("line 2: the device id is empty"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nsecret 1\nname n\nend\n"),
                HasSubstr("line 3: expected 'identifier' or 'name'"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\nidentifier y\nend\n"),
                HasSubstr("line 4: expected 'credentials' or 'end'"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\ncredentials tv abc\nend\n"),
                HasSubstr("line 4: unknown protocol"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\ncredentials mrp a\n"
                         "credentials mrp b\nend\n"),
                HasSubstr("line 5: second 'credentials' line for mrp"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n%4\nend\n"),
                HasSubstr("line 3: '%' must be followed by two hex digits"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n%zz\nend\n"),
                HasSubstr("line 3: '%' must be followed by two hex digits"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname a\tb\nend\n"),
                HasSubstr("line 3: control character"));
    EXPECT_THAT(error_of("atvd-credentials 1\r\ndevice-id x\r\nname n\r\nend\r\n"),
                HasSubstr("line 1:"));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nname n\nend now\n"),
                HasSubstr("line 4: expected 'credentials' or 'end'"));
}

TEST(CredentialsFile, ErrorsNeverQuoteTheContent) {
    const std::string message =
        error_of("atvd-credentials 1\ndevice-id x\nname n\ncredentials mrp SECRET%G0\nend\n");
    EXPECT_THAT(message, Not(HasSubstr("SECRET")));
    EXPECT_THAT(error_of("atvd-credentials 1\ndevice-id x\nSECRETKEY 1\n"),
                Not(HasSubstr("SECRET")));
}

TEST(CredentialsFile, CredentialsWithoutValueAreEmpty) {
    const StoredDevice device =
        parse_device("atvd-credentials 1\ndevice-id x\nname n\ncredentials dmap\nend\n");
    ASSERT_TRUE(device.credentials.contains(Protocol::dmap));
    EXPECT_EQ(device.credentials.at(Protocol::dmap), "");
}

TEST(IdentityFile, RoundTrip) {
    SecretsStore::Identity identity{.client_id = "0f8fad5b-d9cb-469f-a165-70867728950e",
                                    .seed = SecretBytes(Bytes(32, 0xab))};
    std::string seed_hex;
    for (int i = 0; i < 32; ++i) {
        seed_hex += "ab";
    }
    const std::string text = serialize_identity(identity);
    EXPECT_EQ(text, "atvd-identity 1\nclient-id 0f8fad5b-d9cb-469f-a165-70867728950e\nseed " +
                        seed_hex + "\nend\n");
    const SecretsStore::Identity parsed = parse_identity(text);
    EXPECT_EQ(parsed.client_id, identity.client_id);
    EXPECT_EQ(Bytes(parsed.seed.view().begin(), parsed.seed.view().end()), Bytes(32, 0xab));
}

TEST(IdentityFile, RejectsMalformedIdentities) {
    const std::string seed(64, 'c');
    const auto file = [&](std::string_view id, std::string_view seed_text) {
        return "atvd-identity 1\nclient-id " + std::string(id) + "\nseed " +
               std::string(seed_text) + "\nend\n";
    };
    EXPECT_NO_THROW(parse_identity(file("0f8fad5b-d9cb-469f-a165-70867728950e", seed)));
    EXPECT_THROW(parse_identity(file("0F8FAD5B-D9CB-469F-A165-70867728950E", seed)), Error);
    EXPECT_THROW(parse_identity(file("0f8fad5b-d9cb-469f-a165-70867728950", seed)), Error);
    EXPECT_THROW(parse_identity(file("0f8fad5bxd9cb-469f-a165-70867728950e", seed)), Error);
    EXPECT_THROW(parse_identity(file("0f8fad5b-d9cb-469f-a165-70867728950e", seed + "cc")), Error);
    EXPECT_THROW(parse_identity(file("0f8fad5b-d9cb-469f-a165-70867728950e", seed.substr(2))),
                 Error);
    EXPECT_THROW(parse_identity(file("0f8fad5b-d9cb-469f-a165-70867728950e", std::string(64, 'C'))),
                 Error);
    EXPECT_THROW(parse_identity("atvd-identity 1\nclient-id 0f8fad5b-d9cb-469f-a165-70867728950e\n"
                                "seed " +
                                seed + "\n"),
                 Error);
    EXPECT_THROW(parse_identity(minimal), Error);
    std::string spaced_end = file("0f8fad5b-d9cb-469f-a165-70867728950e", seed);
    spaced_end.insert(spaced_end.size() - 1, " ");
    EXPECT_THROW(parse_identity(spaced_end), Error);
}

TEST(DeviceFileName, UsesOnlySafeCharacters) {
    for (std::string_view id : {"AA:BB:CC:DD:EE:FF", "../../etc/passwd", ".hidden", "", "a b/c\\d",
                                "\xff\xfe\n\t", "6D7F6B8E-2D7B-4C0E-9C3E-5B0C2D8A9F11"}) {
        const std::string name = device_file_name(id);
        EXPECT_TRUE(name.ends_with(".creds")) << name;
        EXPECT_NE(name.front(), '.') << name;
        for (char c : name) {
            const bool safe = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                              c == '-' || c == '.';
            EXPECT_TRUE(safe) << name;
        }
    }
    EXPECT_EQ(device_file_name("AA:BB:CC:DD:EE:FF").substr(0, 18), "AA_BB_CC_DD_EE_FF_");
    EXPECT_LE(device_file_name(std::string(1000, 'x')).size(), 64U + 1 + 16 + 6);
}

TEST(DeviceFileName, IsStableAndDistinctForIdsThatSanitizeAlike) {
    EXPECT_EQ(device_file_name("AA:BB"), device_file_name("AA:BB"));
    const std::set<std::string> names{device_file_name("a:b"),
                                      device_file_name("a/b"),
                                      device_file_name("a_b"),
                                      device_file_name("a b"),
                                      device_file_name(std::string(64, 'x') + "1"),
                                      device_file_name(std::string(64, 'x') + "2")};
    EXPECT_EQ(names.size(), 6U);
}

}  // namespace
}  // namespace atv::storage
