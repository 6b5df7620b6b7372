#include "discovery/unicast_scan.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "atv/discovery.hpp"
#include "atv/error.hpp"

namespace atv::discovery {
namespace {

using namespace std::chrono_literals;

// The services a fake Apple TV announces: type → (instance, port, TXT).
struct FakeService {
    std::string type;
    std::string instance;
    std::uint16_t port;
    std::vector<std::string> txt;
};

const std::vector<FakeService> apple_tv{
    {"_mediaremotetv._tcp.local",
     "Living Room",
     49152,
     {"Name=Living Room", "UniqueIdentifier=mrp-uuid", "SystemBuildVersion=18M60",
      "AllowPairing=YES", "macAddress=aa:bb:cc:dd:ee:ff"}},
    {"_airplay._tcp.local",
     "Living Room",
     7000,
     {"deviceid=AA:BB:CC:DD:EE:FF", "model=AppleTV6,2", "osvers=14.7"}},
    {"_raop._tcp.local", "AABBCCDDEEFF@Living Room", 7000, {"am=AppleTV6,2"}},
};

const dns::Name type_list = dns::name_from_text("_services._dns-sd._udp.local");

// Answers every question it knows with PTR+SRV+TXT+A (or PTR only when `sleeping`), and the
// service type enumeration when `lists_types`.
dns::Message answer(const dns::Message& query, const std::vector<FakeService>& services,
                    bool sleeping, bool lists_types = false) {
    dns::Message reply;
    reply.id = query.id;
    reply.flags = 0x8400;
    reply.questions = query.questions;
    const dns::Name host = dns::name_from_text("living-room.local");
    bool any_query = false;
    for (const dns::Question& question : query.questions) {
        any_query = any_query || question.type == dns::type_any;
        if (lists_types && dns::same_name(question.name, type_list)) {
            for (const FakeService& service : services) {
                reply.answers.push_back(
                    dns::make_ptr(type_list, dns::name_from_text(service.type)));
            }
        }
        for (const FakeService& service : services) {
            const dns::Name type = dns::name_from_text(service.type);
            dns::Name instance = type;
            instance.insert(instance.begin(), service.instance);
            if (question.type == dns::type_ptr && dns::same_name(question.name, type)) {
                reply.answers.push_back(dns::make_ptr(type, instance));
                if (!sleeping) {
                    reply.additionals.push_back(dns::make_srv(instance, service.port, host));
                    reply.additionals.push_back(dns::make_txt(instance, service.txt));
                }
            } else if (question.type == dns::type_any && dns::same_name(question.name, instance)) {
                reply.answers.push_back(dns::make_srv(instance, service.port, host));
                reply.answers.push_back(dns::make_txt(instance, service.txt));
            }
        }
    }
    if (!reply.answers.empty() && (!sleeping || any_query)) {
        reply.additionals.push_back(dns::make_a(host, "127.0.0.1"));
    }
    return reply;
}

// A UDP responder on 127.0.0.1 with an ephemeral port, on the test's loop.
class Responder {
  public:
    using Behaviour = std::function<std::vector<Bytes>(const dns::Message& query)>;

    Responder(asio::io_context& io, Behaviour behaviour)
        : socket_(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          behaviour_(std::move(behaviour)) {
        asio::co_spawn(io, serve(), asio::detached);
    }

    [[nodiscard]] std::uint16_t port() const { return socket_.local_endpoint().port(); }
    [[nodiscard]] int queries() const { return queries_; }
    void close() { socket_.close(); }

  private:
    asio::awaitable<void> serve() {
        std::vector<std::uint8_t> buffer(65536);
        asio::ip::udp::endpoint sender;
        while (socket_.is_open()) {
            std::error_code error;
            const std::size_t size = co_await socket_.async_receive_from(
                asio::buffer(buffer), sender, asio::redirect_error(asio::use_awaitable, error));
            if (error) {
                co_return;
            }
            const auto query = dns::decode(ByteView(buffer.data(), size));
            if (!query) {
                continue;
            }
            ++queries_;
            for (const Bytes& reply : behaviour_(*query)) {
                socket_.send_to(asio::buffer(reply), sender, 0, error);
            }
        }
    }

    asio::ip::udp::socket socket_;
    Behaviour behaviour_;
    int queries_ = 0;
};

struct ScanResult {
    std::vector<DeviceConfig> devices;
    std::chrono::milliseconds elapsed{};
};

ScanResult run_scan(asio::io_context& io, std::uint16_t port, std::chrono::milliseconds timeout,
                    std::set<Protocol> protocols = {}) {
    ScanResult result;
    const auto started = std::chrono::steady_clock::now();
    bool finished = false;
    asio::co_spawn(io, unicast_scan({"127.0.0.1"}, std::move(protocols), timeout, port),
                   [&](std::exception_ptr failure, std::vector<DeviceConfig> devices) {
                       if (failure) {
                           std::rethrow_exception(failure);
                       }
                       result.devices = std::move(devices);
                       result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started);
                       finished = true;
                   });
    while (!finished && io.run_one_for(10s) > 0) {
    }
    EXPECT_TRUE(finished);
    return result;
}

TEST(UnicastScan, PromptHostReturnsEarly) {
    asio::io_context io;
    Responder responder(io, [](const dns::Message& query) {
        return std::vector<Bytes>{dns::encode(answer(query, apple_tv, false))};
    });
    const ScanResult result = run_scan(io, responder.port(), 5s);
    EXPECT_LT(result.elapsed, 1000ms);
    ASSERT_EQ(result.devices.size(), 1U);
    const DeviceConfig& device = result.devices[0];
    EXPECT_EQ(device.name, "Living Room");
    EXPECT_EQ(device.address, "127.0.0.1");
    EXPECT_EQ(device.services.size(), 3U);
    EXPECT_EQ(device.service(Protocol::mrp)->port, 49152);
    EXPECT_EQ(device.service(Protocol::mrp)->pairing, PairingRequirement::optional);
    EXPECT_EQ(device.service(Protocol::airplay)->identifier, "AA:BB:CC:DD:EE:FF");
    EXPECT_EQ(device.info.model, DeviceModel::gen4k);
    EXPECT_FALSE(device.deep_sleep);
    EXPECT_EQ(responder.queries(), 5);  // one round: four PTR queries and the type list
}

TEST(UnicastScan, HostWithoutRecordsForSomeQueriesEndsAfterAQuietPeriod) {
    // Like a real responder: no reply at all to a message it has nothing for.
    asio::io_context io;
    Responder responder(io, [](const dns::Message& query) {
        const dns::Message reply = answer(query, apple_tv, false);
        return reply.answers.empty() ? std::vector<Bytes>{}
                                     : std::vector<Bytes>{dns::encode(reply)};
    });
    const ScanResult result = run_scan(io, responder.port(), 5s);
    EXPECT_GE(result.elapsed, HostScan::quiet_period);
    EXPECT_LT(result.elapsed, HostScan::quiet_period + 500ms);
    ASSERT_EQ(result.devices.size(), 1U);
    EXPECT_EQ(result.devices[0].services.size(), 3U);
}

TEST(UnicastScan, HostListingItsServiceTypesEndsWithoutAQuietPeriod) {
    // A real responder again, which also lists its service types: the messages that ask only
    // for types it lacks need no wait.
    asio::io_context io;
    Responder responder(io, [](const dns::Message& query) {
        const dns::Message reply = answer(query, apple_tv, false, true);
        return reply.answers.empty() ? std::vector<Bytes>{}
                                     : std::vector<Bytes>{dns::encode(reply)};
    });
    const ScanResult result = run_scan(io, responder.port(), 5s);
    EXPECT_LT(result.elapsed, HostScan::quiet_period);
    ASSERT_EQ(result.devices.size(), 1U);
    EXPECT_EQ(result.devices[0].services.size(), 3U);
}

TEST(HostScan, TypeListLeavesOnlyAnswerableMessagesOpen) {
    HostScan scan("127.0.0.1", {});
    dns::Message query;
    query.questions.push_back({type_list, dns::type_ptr, dns::class_in_unicast});
    EXPECT_TRUE(scan.on_datagram(dns::encode(answer(query, apple_tv, false, true))));
    EXPECT_FALSE(scan.complete());  // the messages asking for its three types stay open
    EXPECT_FALSE(scan.messages_to_send().empty());
    for (const Bytes& message : scan.messages_to_send()) {
        scan.on_datagram(dns::encode(answer(*dns::decode(message), apple_tv, false, true)));
    }
    EXPECT_TRUE(scan.complete());
    ASSERT_EQ(scan.devices().size(), 1U);
}

TEST(HostScan, EmptyTypeListClosesNothing) {
    HostScan scan("127.0.0.1", {});
    dns::Message query;
    query.questions.push_back({type_list, dns::type_ptr, dns::class_in_unicast});
    EXPECT_TRUE(scan.on_datagram(dns::encode(answer(query, apple_tv, false, false))));
    EXPECT_EQ(scan.messages_to_send().size(), scan.query_count());  // the type list is not resent
    EXPECT_FALSE(scan.complete());
}

TEST(HostScan, QuietPeriodStartsWithTheLastReply) {
    HostScan scan("127.0.0.1", {});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(scan.quiet_deadline().has_value());
    dns::Message query;
    query.questions.push_back(
        {dns::name_from_text("_airplay._tcp.local"), dns::type_ptr, dns::class_in_unicast});
    EXPECT_TRUE(scan.on_datagram(dns::encode(answer(query, apple_tv, false)), start));
    EXPECT_FALSE(scan.complete());
    EXPECT_FALSE(scan.done(start + 100ms));
    EXPECT_TRUE(scan.done(start + HostScan::quiet_period));
    ASSERT_EQ(scan.devices().size(), 1U);
}

TEST(UnicastScan, SilentHostGivesEmptyResultAtTheTimeout) {
    asio::io_context io;
    Responder responder(io, [](const dns::Message&) { return std::vector<Bytes>{}; });
    const ScanResult result = run_scan(io, responder.port(), 1500ms);
    EXPECT_TRUE(result.devices.empty());
    EXPECT_GE(result.elapsed, 1500ms);
    EXPECT_LT(result.elapsed, 2500ms);
    EXPECT_EQ(responder.queries(), 10);  // resent after a second
}

TEST(UnicastScan, GarbageRepliesAreIgnored) {
    asio::io_context io;
    Responder responder(io, [](const dns::Message& query) {
        Bytes garbage{0x35, 0xFF, 0x84, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3};
        Bytes not_a_response = dns::encode(query);
        return std::vector<Bytes>{garbage, not_a_response,
                                  dns::encode(answer(query, apple_tv, false))};
    });
    const ScanResult result = run_scan(io, responder.port(), 3s);
    EXPECT_LT(result.elapsed, 1000ms);
    ASSERT_EQ(result.devices.size(), 1U);
    EXPECT_EQ(result.devices[0].services.size(), 3U);
}

TEST(UnicastScan, ProtocolFilterKeepsOnlyThoseServices) {
    asio::io_context io;
    Responder responder(io, [](const dns::Message& query) {
        return std::vector<Bytes>{dns::encode(answer(query, apple_tv, false))};
    });
    const ScanResult result = run_scan(io, responder.port(), 3s, {Protocol::airplay});
    ASSERT_EQ(result.devices.size(), 1U);
    ASSERT_EQ(result.devices[0].services.size(), 1U);
    EXPECT_EQ(result.devices[0].services[0].protocol, Protocol::airplay);
}

TEST(UnicastScan, SleepProxyReplyMarksDeepSleepAndAsksForTheServices) {
    asio::io_context io;
    Responder responder(io, [](const dns::Message& query) {
        return std::vector<Bytes>{dns::encode(answer(query, apple_tv, true))};
    });
    const ScanResult result = run_scan(io, responder.port(), 4s);
    ASSERT_EQ(result.devices.size(), 1U);
    EXPECT_TRUE(result.devices[0].deep_sleep);
    EXPECT_EQ(result.devices[0].services.size(), 3U);
    EXPECT_EQ(result.devices[0].service(Protocol::airplay)->port, 7000);
}

TEST(UnicastScan, HostThatIsNotAnAddressIsRejected) {
    asio::io_context io;
    bool threw = false;
    asio::co_spawn(io, unicast_scan({"not an address"}, {}, 100ms),
                   [&](std::exception_ptr failure, std::vector<DeviceConfig>) {
                       try {
                           if (failure) {
                               std::rethrow_exception(failure);
                           }
                       } catch (const Error& error) {
                           threw = error.kind() == ErrorKind::invalid_arguments;
                       }
                   });
    io.run();
    EXPECT_TRUE(threw);
}

TEST(HostScan, QueriesCoverEveryTypeAndFilter) {
    const auto all = query_type_names({});
    EXPECT_EQ(all.size(), 10U);
    const auto mrp_only = query_type_names({Protocol::mrp});
    EXPECT_EQ(mrp_only,
              (std::vector<std::string>{"_device-info._tcp.local", "_sleep-proxy._udp.local",
                                        "_mediaremotetv._tcp.local"}));
    HostScan scan("127.0.0.1", {});
    EXPECT_EQ(scan.query_count(), 4U);
    EXPECT_EQ(scan.messages_to_send().size(), 5U);  // and the service type enumeration
    EXPECT_FALSE(scan.complete());
    EXPECT_FALSE(scan.done(std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace atv::discovery
