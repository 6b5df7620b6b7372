// The daemon's checks of callers' arguments (daemon/arguments.hpp) without a bus: what each
// accepts, and that everything else is org.atvd.Error.InvalidArguments naming the culprit.
#include "arguments.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <functional>
#include <string>

namespace {

using namespace std::chrono_literals;
using Dict = std::map<std::string, sdbus::Variant>;

// The error's name and message, or "" when `call` returns.
std::string rejection(const std::function<void()>& call) {
    try {
        call();
    } catch (const sdbus::Error& error) {
        return error.getName() + ": " + error.getMessage();
    }
    return "";
}

TEST(Arguments, ScanFilterTakesEveryKnownKey) {
    const Dict filter{{"Identifiers", std::vector<std::string>{"AA:BB"}},
                      {"Hosts", std::vector<std::string>{"10.0.0.2", "::1"}},
                      {"Protocols", std::vector<std::string>{"mrp", "companion"}},
                      {"Timeout", std::uint32_t{1500}}};
    const atvd::ScanFilter parsed = atvd::parse_scan_filter(filter, 3000ms);
    EXPECT_EQ(parsed.identifiers, std::vector<std::string>{"AA:BB"});
    EXPECT_EQ(parsed.hosts, (std::vector<std::string>{"10.0.0.2", "::1"}));
    EXPECT_EQ(parsed.protocols, (std::set{atv::Protocol::mrp, atv::Protocol::companion}));
    EXPECT_EQ(parsed.timeout, 1500ms);
    EXPECT_EQ(atvd::parse_scan_filter({}, 3000ms).timeout, 3000ms);
}

TEST(Arguments, ScanFilterRejectsWhatItDoesNotKnow) {
    const std::string prefix = "org.atvd.Error.InvalidArguments: ";
    EXPECT_EQ(
        rejection([] {
            atvd::parse_scan_filter({{"Colour", std::string("red")}}, 1ms);
        }),
        prefix + "unknown filter key 'Colour' (known: Identifiers, Hosts, Protocols, Timeout)");
    EXPECT_EQ(rejection([] {
                  atvd::parse_scan_filter({{"Hosts", std::string("::1")}}, 1ms);
              }),
              prefix + "filter key 'Hosts' must be of type 'as'");
    EXPECT_EQ(rejection([] {
                  atvd::parse_scan_filter({{"Hosts", std::vector<std::string>{"tv.local"}}}, 1ms);
              }),
              prefix + "'tv.local' in Hosts is not an IPv4 or IPv6 address");
    EXPECT_EQ(rejection([] {
                  atvd::parse_scan_filter({{"Protocols", std::vector<std::string>{"hap"}}}, 1ms);
              }),
              prefix + "unknown protocol 'hap' (known: mrp, airplay, companion, dmap, raop)");
    EXPECT_EQ(rejection([] {
                  atvd::parse_scan_filter({{"Timeout", std::int32_t{5}}}, 1ms);
              }),
              prefix + "filter key 'Timeout' must be of type 'u' (milliseconds)");
}

TEST(Arguments, PairOptions) {
    const atvd::PairOptions parsed =
        atvd::parse_pair_options({{"Name", std::string("Kitchen")},
                                  {"PairingGuid", std::string("0x0123456789ABCDEF")},
                                  {"Timeout", std::uint32_t{20000}}});
    EXPECT_EQ(parsed.pairing.name, "Kitchen");
    EXPECT_EQ(parsed.pairing.pairing_guid, "0x0123456789ABCDEF");
    EXPECT_EQ(parsed.timeout, 20000ms);
    EXPECT_EQ(atvd::parse_pair_options({}).pairing.name, "atvd");
    EXPECT_FALSE(atvd::parse_pair_options({}).timeout);

    const std::string prefix = "org.atvd.Error.InvalidArguments: ";
    EXPECT_EQ(rejection([] {
                  atvd::parse_pair_options({{"Timeout", std::uint32_t{0}}});
              }),
              prefix + "option 'Timeout' must be greater than zero");
    EXPECT_EQ(rejection([] {
                  atvd::parse_pair_options({{"Name", true}});
              }),
              prefix + "option 'Name' must be of type 's'");
    EXPECT_EQ(rejection([] {
                  atvd::parse_pair_options({{"Pin", std::string("1234")}});
              }),
              prefix + "unknown option 'Pin' (known: Name, PairingGuid, Timeout)");
}

TEST(Arguments, PinIsOneToSixteenDigits) {
    EXPECT_EQ(rejection([] { atvd::check_pin("0"); }), "");
    EXPECT_EQ(rejection([] { atvd::check_pin("1234567890123456"); }), "");
    for (const std::string pin : {"", "12345678901234567", "12a4", " 1234", "-1", "١٢٣٤"}) {
        EXPECT_EQ(rejection([&] { atvd::check_pin(pin); }),
                  "org.atvd.Error.InvalidArguments: a PIN is made of digits only (1 to 16 of them)")
            << pin;
    }
}

TEST(Arguments, ProtocolNamesAndAddresses) {
    EXPECT_EQ(atvd::protocol_argument("airplay"), atv::Protocol::airplay);
    EXPECT_NE(rejection([] { atvd::protocol_argument("MRP"); }), "");
    EXPECT_TRUE(atvd::is_ip_address("192.168.1.10"));
    EXPECT_TRUE(atvd::is_ip_address("fe80::1"));
    EXPECT_FALSE(atvd::is_ip_address("192.168.1"));
    EXPECT_FALSE(atvd::is_ip_address("apple-tv.local"));
    EXPECT_FALSE(atvd::is_ip_address(""));
    // Found by fuzz-dbus_arguments: what followed a NUL byte went unchecked. (A bus never
    // delivers a string with a NUL in it; the check must not rely on that.)
    EXPECT_FALSE(atvd::is_ip_address(std::string("::34\0\0junk", 10)));
}

}  // namespace
