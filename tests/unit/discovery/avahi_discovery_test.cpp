// Discovery against a real avahi-daemon. Runs inside tests/env/isolated (private network
// namespace, its own system bus and avahi-daemon on lo); services come from avahi-publish.
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "atv/discovery.hpp"
#include "discovery/avahi_poll.hpp"
#include "run_coroutine.hpp"

extern char** environ;

namespace atv {
namespace {

using namespace std::chrono_literals;
using atv::fakes::run_for;
using atv::fakes::run_until;

// A child process, stopped by its pid when it goes away.
class Child {
  public:
    explicit Child(std::vector<std::string> arguments) {
        std::vector<char*> argv;
        for (std::string& argument : arguments) {
            argv.push_back(argument.data());
        }
        argv.push_back(nullptr);
        if (posix_spawnp(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { stop(); }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    [[nodiscard]] bool started() const { return pid_ > 0; }

  private:
    pid_t pid_ = -1;
};

std::unique_ptr<Child> publish(const std::string& name, const std::string& type, int port,
                               const std::vector<std::string>& txt) {
    std::vector<std::string> arguments{"avahi-publish", "-s", name, type, std::to_string(port)};
    arguments.insert(arguments.end(), txt.begin(), txt.end());
    return std::make_unique<Child>(arguments);
}

struct Recorder {
    std::vector<bool> states;
    std::map<std::uint64_t, DeviceConfig> devices;
    int appeared = 0;
    int gone = 0;

    DiscoveryEvents events() {
        return {[this](bool running) { states.push_back(running); },
                [this](std::uint64_t key, const DeviceConfig& config) {
                    if (devices.count(key) == 0) {
                        ++appeared;
                    }
                    devices[key] = config;
                },
                [this](std::uint64_t key) {
                    devices.erase(key);
                    ++gone;
                }};
    }

    [[nodiscard]] std::uint64_t key_of(const std::string& name) const {
        for (const auto& [key, config] : devices) {
            if (config.name == name) {
                return key;
            }
        }
        return 0;
    }

    [[nodiscard]] const DeviceConfig* named(const std::string& name) const {
        for (const auto& [key, config] : devices) {
            if (config.name == name) {
                return &config;
            }
        }
        return nullptr;
    }
};

// Publishes from this process on the test's loop, so a TXT record can change in place.
class GroupPublisher {
  public:
    explicit GroupPublisher(asio::io_context& io) : poll_(io) {
        int error = 0;
        client_ =
            avahi_client_new(poll_.api(), static_cast<AvahiClientFlags>(0), on_state, this, &error);
    }
    ~GroupPublisher() {
        if (client_ != nullptr) {
            avahi_client_free(client_);  // frees the group too
        }
    }
    GroupPublisher(const GroupPublisher&) = delete;
    GroupPublisher& operator=(const GroupPublisher&) = delete;

    [[nodiscard]] bool ready() const { return running_; }

    bool add(const std::string& name, const std::string& type, std::uint16_t port,
             const std::vector<std::string>& txt) {
        group_ = avahi_entry_group_new(client_, nullptr, nullptr);
        AvahiStringList* list = make_list(txt);
        const int added = avahi_entry_group_add_service_strlst(
            group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, static_cast<AvahiPublishFlags>(0),
            name.c_str(), type.c_str(), nullptr, nullptr, port, list);
        avahi_string_list_free(list);
        return added == 0 && avahi_entry_group_commit(group_) == 0;
    }

    bool update(const std::string& name, const std::string& type,
                const std::vector<std::string>& txt) {
        AvahiStringList* list = make_list(txt);
        const int updated = avahi_entry_group_update_service_txt_strlst(
            group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, static_cast<AvahiPublishFlags>(0),
            name.c_str(), type.c_str(), nullptr, list);
        avahi_string_list_free(list);
        return updated == 0;
    }

  private:
    static AvahiStringList* make_list(const std::vector<std::string>& txt) {
        AvahiStringList* list = nullptr;
        for (auto entry = txt.rbegin(); entry != txt.rend(); ++entry) {
            list = avahi_string_list_add(list, entry->c_str());
        }
        return list;
    }

    static void on_state(AvahiClient* /*client*/, AvahiClientState state, void* userdata) {
        static_cast<GroupPublisher*>(userdata)->running_ = state == AVAHI_CLIENT_S_RUNNING;
    }

    discovery::AsioAvahiPoll poll_;
    AvahiClient* client_ = nullptr;
    AvahiEntryGroup* group_ = nullptr;
    bool running_ = false;
};

class AvahiDiscovery : public ::testing::Test {
  protected:
    void SetUp() override {
        if (std::getenv("ATVD_AVAHI_START") == nullptr) {
            GTEST_FAIL() << "run this test through tests/env/isolated";
        }
        discovery_ = std::make_unique<Discovery>(io_, recorder_.events());
        discovery_->start();
        ASSERT_TRUE(run_until(
            io_, [&] { return discovery_->running(); }, 5s));
    }

    void TearDown() override {
        discovery_.reset();
        publishers_.clear();
    }

    void publish_apple_tv(const std::string& name, const std::string& mac_hex) {
        std::string mac;
        for (std::size_t i = 0; i < mac_hex.size(); i += 2) {
            mac += (i > 0 ? ":" : "") + mac_hex.substr(i, 2);
        }
        publishers_.push_back(
            publish(name, "_mediaremotetv._tcp", 49152,
                    {"Name=" + name, "UniqueIdentifier=" + mac_hex + "-mrp",
                     "SystemBuildVersion=18M60", "AllowPairing=YES", "macAddress=" + mac}));
        publishers_.push_back(publish(name, "_airplay._tcp", 7000,
                                      {"deviceid=" + mac, "model=AppleTV6,2", "osvers=14.7"}));
        publishers_.push_back(publish(mac_hex + "@" + name, "_raop._tcp", 7000, {"am=AppleTV6,2"}));
        for (const auto& publisher : publishers_) {
            ASSERT_TRUE(publisher->started());
        }
    }

    asio::io_context io_;
    Recorder recorder_;
    std::unique_ptr<Discovery> discovery_;
    std::vector<std::unique_ptr<Child>> publishers_;
};

TEST_F(AvahiDiscovery, PublishedServicesBecomeOneDeviceAndGoAway) {
    publish_apple_tv("Living Room", "AABBCCDDEEFF");
    ASSERT_TRUE(run_until(
        io_,
        [&] {
            const DeviceConfig* device = recorder_.named("Living Room");
            return device != nullptr && device->services.size() == 3;
        },
        10s));
    const DeviceConfig& device = *recorder_.named("Living Room");
    EXPECT_EQ(device.address, "127.0.0.1");
    EXPECT_EQ(device.identifier(), "AABBCCDDEEFF-mrp");
    EXPECT_EQ(device.service(Protocol::mrp)->pairing, PairingRequirement::optional);
    EXPECT_EQ(device.service(Protocol::airplay)->port, 7000);
    EXPECT_EQ(device.info.model, DeviceModel::gen4k);
    EXPECT_NE(recorder_.key_of("Living Room"), 0U);

    const std::uint64_t key = recorder_.key_of("Living Room");
    publishers_.clear();
    EXPECT_TRUE(run_until(
        io_, [&] { return recorder_.named("Living Room") == nullptr; }, 10s));
    EXPECT_EQ(recorder_.devices.count(key), 0U);
}

TEST_F(AvahiDiscovery, TxtChangesAreReportedUnderTheSameKeyPromptly) {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    auto previous = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);

    GroupPublisher publisher(io_);
    ASSERT_TRUE(run_until(
        io_, [&] { return publisher.ready(); }, 5s));
    ASSERT_TRUE(publisher.add("Study", "_airplay._tcp", 7000,
                              {"deviceid=02:00:00:00:00:02", "model=AppleTV6,2", "acl=0"}));
    ASSERT_TRUE(run_until(
        io_, [&] { return recorder_.named("Study") != nullptr; }, 10s));
    const std::uint64_t key = recorder_.key_of("Study");
    EXPECT_EQ(recorder_.named("Study")->service(Protocol::airplay)->pairing,
              PairingRequirement::not_needed);

    ASSERT_TRUE(publisher.update("Study", "_airplay._tcp",
                                 {"deviceid=02:00:00:00:00:02", "model=AppleTV6,2", "acl=1"}));
    ASSERT_TRUE(run_until(
        io_,
        [&] {
            const DeviceConfig* device = recorder_.named("Study");
            return device != nullptr &&
                   device->service(Protocol::airplay)->pairing == PairingRequirement::disabled;
        },
        10s));
    EXPECT_EQ(recorder_.key_of("Study"), key);

    // Each report says how long after Avahi's callback it came; judging that figure is
    // discovery_bench's work, not a unit test's, whose timing depends on the machine's load.
    spdlog::set_default_logger(previous);
    const std::regex latency_line(R"((\d+) us after Avahi's callback)");
    int measured = 0;
    for (const std::string& line : sink->last_formatted()) {
        std::smatch match;
        if (std::regex_search(line, match, latency_line)) {
            ++measured;
            std::printf("resolve callback to on_device: %s us\n", match[1].str().c_str());
        }
    }
    EXPECT_GE(measured, 2);
}

TEST_F(AvahiDiscovery, TwoDevicesOnLoopbackStayApart) {
    publish_apple_tv("Living Room", "AABBCCDDEEFF");
    publish_apple_tv("Bedroom", "112233445566");
    ASSERT_TRUE(run_until(
        io_,
        [&] {
            const DeviceConfig* first = recorder_.named("Living Room");
            const DeviceConfig* second = recorder_.named("Bedroom");
            return first != nullptr && second != nullptr && first->services.size() == 3 &&
                   second->services.size() == 3;
        },
        10s));
    EXPECT_NE(recorder_.key_of("Living Room"), recorder_.key_of("Bedroom"));
}

TEST_F(AvahiDiscovery, FlappingServiceLeavesNothingBehind) {
    // Up and down every 100 ms: mostly gone again before Avahi finished probing.
    for (int i = 0; i < 15; ++i) {
        auto publisher = publish("Flappy", "_airplay._tcp", 7000, {"deviceid=02:00:00:00:00:01"});
        run_for(io_, 100ms);
        publisher->stop();
        run_for(io_, 100ms);
    }
    // Up until seen, then down at once: every appearance is followed by its removal.
    for (int i = 0; i < 3; ++i) {
        auto publisher = publish("Flappy", "_airplay._tcp", 7000, {"deviceid=02:00:00:00:00:01"});
        ASSERT_TRUE(run_until(
            io_, [&] { return recorder_.named("Flappy") != nullptr; }, 10s));
        publisher->stop();
        ASSERT_TRUE(run_until(
            io_, [&] { return recorder_.devices.empty(); }, 10s));
    }
    EXPECT_GE(recorder_.appeared, 3);
    EXPECT_EQ(recorder_.appeared, recorder_.gone);
}

TEST_F(AvahiDiscovery, DaemonRestartIsSurvived) {
    publish_apple_tv("Den", "0A0B0C0D0E0F");
    ASSERT_TRUE(run_until(
        io_, [&] { return recorder_.named("Den") != nullptr; }, 10s));

    std::ifstream pidfile(std::getenv("ATVD_AVAHI_PIDFILE"));
    pid_t daemon = 0;
    pidfile >> daemon;
    ASSERT_GT(daemon, 0);
    ASSERT_EQ(::kill(daemon, SIGTERM), 0);
    ASSERT_TRUE(run_until(
        io_, [&] { return !discovery_->running() && !recorder_.states.back(); }, 10s));
    EXPECT_TRUE(run_until(
        io_, [&] { return recorder_.devices.empty(); }, 2s));

    // Wait until the old daemon is gone, then start a new one.
    for (int i = 0; i < 100 && ::kill(daemon, 0) == 0; ++i) {
        run_for(io_, 50ms);
    }
    const std::string start = std::string(std::getenv("ATVD_AVAHI_START"));
    ASSERT_EQ(std::system(start.c_str()), 0);
    ASSERT_TRUE(run_until(
        io_, [&] { return discovery_->running() && recorder_.states.back(); }, 10s));
    // The publishers were Avahi clients too; publish again for the new daemon.
    publishers_.clear();
    publish_apple_tv("Den", "0A0B0C0D0E0F");
    EXPECT_TRUE(run_until(
        io_,
        [&] {
            const DeviceConfig* device = recorder_.named("Den");
            return device != nullptr && device->services.size() == 3;
        },
        15s));
}

}  // namespace
}  // namespace atv
