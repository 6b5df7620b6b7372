// fake-atv: the fake Apple TV as a program. Serves MRP, Companion and AirPlay on 127.0.0.1 and
// announces itself through avahi-daemon like an Apple TV 4K (tvOS 13, or tvOS 15 with --tvos15).
// Prints "PIN <digits>" when a pairing shows a PIN, "READY <mrp-port>" once it listens and its
// services are established, "TUNNEL open" and "TUNNEL closed" as an MRP tunnel through AirPlay
// opens and closes, and "SESSION-STOP <16 hex digits>" when a Companion client stops its
// session. With --dmap it also serves DMAP and prints "DMAP LOGIN <session>" and
// "DMAP LOGOUT <session>", and what DMAP sessions send ("DMAP CMD playpause", "DMAP PROMPT
// select", "DMAP SET dacp.playingtime=42000", ...; README.md lists them).
//
// Media: reads script lines on stdin (README.md lists them; "SCRIPTED <verb>" or
// "SCRIPT-ERROR <reason>" answers each) and prints each command, key, volume change and artwork
// request it receives ("COMMAND Play", "HID 1 0x89 down t=<ms>", "VOLUME 0.5", ...). The
// Companion side takes its own script verbs (power, apps, accounts, ...) and prints what it
// receives ("COMPANION HID 13 down", "LAUNCH com.apple.TVMusic", "MCC 1", ...).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>

#include "avahi_publisher.hpp"
#include "discovery/unicast_scan.hpp"
#include "fake_airplay.hpp"
#include "fake_atv.hpp"
#include "fake_companion.hpp"
#include "fake_dmap.hpp"

namespace {

using atv::fakes::FakeAtvConfig;

constexpr const char* usage =
    "usage: fake-atv [--name NAME] [--id ID] [--mac AA:BB:CC:DD:EE:FF] [--mrp-port PORT]\n"
    "                [--pin DIGITS] [--state FILE] [--bind ADDRESS] [--no-publish]\n"
    "                [--tvos15 | --homepod] [--airplay-port PORT]\n"
    "                [--misbehave MODE] [--list-misbehaviours]\n"
    "                [--back-off SECONDS] [--drop-within MS] [--dmap] [--dmap-credentials "
    "0xGUID|UUID]\n"
    "                [--dmap-home-sharing UUID]\n"
    "                [--verbose]\n";

struct Options {
    FakeAtvConfig config;
    bool publish = true;
    bool dmap = false;
    std::set<std::string> dmap_credentials;
    std::string home_sharing;  // announced as hG and accepted by /login
    bool verbose = false;
    atv::fakes::AppleTvShape shape = atv::fakes::AppleTvShape::tvos13;
    std::uint16_t airplay_port = 0;
};

[[noreturn]] void fail_usage(const std::string& message) {
    std::cerr << "fake-atv: " << message << "\n" << usage;
    std::exit(2);
}

std::uint32_t parse_number(std::string_view text, std::uint32_t max, const char* what) {
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value > max) {
        fail_usage(std::string(what) + " must be a number up to " + std::to_string(max));
    }
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    FakeAtvConfig& config = options.config;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                fail_usage(std::string(arg) + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--name") {
            config.name = value();
        } else if (arg == "--id") {
            config.id = value();
        } else if (arg == "--mac") {
            config.mac = value();
            if (!std::regex_match(config.mac, std::regex("([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}"))) {
                fail_usage("--mac must look like AA:BB:CC:DD:EE:FF");
            }
            for (char& c : config.mac) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
        } else if (arg == "--mrp-port") {
            config.port = static_cast<std::uint16_t>(parse_number(value(), 65535, "--mrp-port"));
        } else if (arg == "--pin") {
            config.pin = value();
            if (!std::regex_match(config.pin, std::regex("[0-9]{4}"))) {
                fail_usage("--pin must be four digits");
            }
        } else if (arg == "--state") {
            config.state_file = value();
        } else if (arg == "--bind") {
            config.bind_address = value();
        } else if (arg == "--tvos15") {
            options.shape = atv::fakes::AppleTvShape::tvos15;
        } else if (arg == "--homepod") {
            options.shape = atv::fakes::AppleTvShape::homepod;
        } else if (arg == "--airplay-port") {
            options.airplay_port =
                static_cast<std::uint16_t>(parse_number(value(), 65535, "--airplay-port"));
        } else if (arg == "--no-publish") {
            options.publish = false;
        } else if (arg == "--list-misbehaviours") {
            for (std::string_view name : atv::fakes::misbehaviour_catalogue()) {
                std::cout << name << "\n";
            }
            std::exit(0);
        } else if (arg == "--misbehave") {
            const auto mode = atv::fakes::misbehaviour_from_string(value());
            if (!mode) {
                fail_usage("unknown --misbehave mode");
            }
            config.misbehaviour = *mode;
        } else if (arg == "--back-off") {
            config.back_off = std::chrono::seconds(parse_number(value(), 86400, "--back-off"));
        } else if (arg == "--drop-within") {
            config.drop_within =
                std::chrono::milliseconds(parse_number(value(), 60000, "--drop-within"));
        } else if (arg == "--dmap") {
            options.dmap = true;
        } else if (arg == "--dmap-credentials") {
            options.dmap = true;
            options.dmap_credentials.insert(value());
        } else if (arg == "--dmap-home-sharing") {
            options.dmap = true;
            options.home_sharing = value();
            options.dmap_credentials.insert(options.home_sharing);
        } else if (arg == "--verbose" || arg == "-v") {
            options.verbose = true;
        } else if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            std::exit(0);
        } else {
            fail_usage("unknown option " + std::string(arg));
        }
    }
    return options;
}

void print_line(const std::string& line) {
    std::cout << line << std::endl;  // flushed: tests read these lines as they come
}

// Feeds stdin to the media script line by line until it ends; without a readable stdin (a
// regular file or /dev/null cannot be watched) there is simply no script.
asio::awaitable<void> read_script(asio::posix::stream_descriptor& input,
                                  atv::fakes::FakeMedia& media,
                                  atv::fakes::FakeCompanionDevice& companion,
                                  atv::fakes::FakeDmap& dmap, std::function<void()> sleep) {
    asio::streambuf buffer;
    for (;;) {
        std::error_code ec;
        co_await asio::async_read_until(input, buffer, '\n',
                                        asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            co_return;
        }
        std::istream stream(&buffer);
        std::string line;
        std::getline(stream, line);
        if (line.empty()) {
            continue;
        }
        const std::string verb = line.substr(0, line.find(' '));
        if (line == "sleep") {
            sleep();
            print_line("SCRIPTED sleep");
            continue;
        }
        // Power, apps, accounts and media control flags are the Companion side's.
        const auto error = atv::fakes::FakeCompanionDevice::handles(verb) ? companion.script(line)
                           : verb.starts_with("dmap-")                    ? dmap.script(line)
                                                                          : media.script(line);
        print_line(error ? "SCRIPT-ERROR " + *error : "SCRIPTED " + verb);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    // stdout carries only the PIN, READY and SESSION-STOP lines; logs go to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("fake-atv"));
    spdlog::set_level(options.verbose ? spdlog::level::debug : spdlog::level::info);

    asio::io_context io;
    atv::fakes::FakeAppleTv fake(io.get_executor(), options.config);
    fake.state().on_pin([](const std::string& pin) { print_line("PIN " + pin); });
    // Companion on a port of its own, sharing the fake's identity and paired clients.
    atv::fakes::FakeCompanion companion(io.get_executor(), fake.state());
    companion.on_session_stop([](std::uint64_t session_id) {
        print_line(fmt::format("SESSION-STOP {:016x}", session_id));
    });
    atv::fakes::FakeDmapConfig dmap_config;
    dmap_config.name = options.config.name;
    dmap_config.bind_address = options.config.bind_address;
    dmap_config.credentials = options.dmap_credentials;
    atv::fakes::FakeDmap dmap(io.get_executor(), dmap_config);
    dmap.service().on_event([](const std::string& event) { print_line("DMAP " + event); });
    // AirPlay (pairing and the MRP tunnel) likewise; RAOP is announced on the same port.
    atv::fakes::FakeAirPlay airplay(io.get_executor(), fake.state(), options.airplay_port);
    airplay.on_tunnel([](bool open) { print_line(open ? "TUNNEL open" : "TUNNEL closed"); });
    try {
        fake.start();
        companion.start();
        airplay.start();
        if (options.dmap) {
            dmap.start();
        }
    } catch (const std::exception& error) {
        spdlog::error("cannot listen on {}:{}: {}", options.config.bind_address,
                      options.config.port, error.what());
        return 1;
    }
    const std::uint16_t port = fake.port();
    spdlog::info("{} ({}) serves MRP on {}:{}", options.config.name,
                 fake.state().unique_identifier(), options.config.bind_address, port);
    spdlog::info("and Companion on {}:{}", options.config.bind_address, companion.port());
    if (options.dmap) {
        spdlog::info("and DMAP on {}:{}", options.config.bind_address, dmap.port());
    }
    spdlog::info("and AirPlay on {}:{}", options.config.bind_address, airplay.port());

    fake.state().media().on_log(print_line);
    companion.device().on_log(print_line);
    std::unique_ptr<atv::fakes::AvahiPublisher> publisher;
    std::vector<atv::fakes::PublishedService> awake_services;
    asio::ip::tcp::acceptor knock_listener(io);
    const auto publish = [&](std::vector<atv::fakes::PublishedService> services) {
        publisher.reset();
        publisher = std::make_unique<atv::fakes::AvahiPublisher>(
            std::move(services), [] {},
            [](const std::string& reason) {
                spdlog::error("publishing again failed: {}", reason);
            });
        publisher->start();
    };
    // Deep sleep as a sleep proxy shows it: every service announced with port 0, until a TCP
    // connection to a knock port wakes the device.
    const auto sleep = [&] {
        if (awake_services.empty() || knock_listener.is_open()) {
            return;
        }
        auto asleep = awake_services;
        for (auto& service : asleep) {
            service.port = 0;
        }
        publish(std::move(asleep));
        const auto address = asio::ip::make_address(options.config.bind_address);
        knock_listener.open(address.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4());
        knock_listener.set_option(asio::socket_base::reuse_address(true));
        knock_listener.bind({address, atv::discovery::knock_ports[2]});
        knock_listener.listen();
        knock_listener.async_accept([&](std::error_code ec, asio::ip::tcp::socket knocked) {
            if (ec) {
                return;
            }
            std::error_code ignored;
            knocked.close(ignored);
            knock_listener.close(ignored);
            publish(awake_services);
            print_line("WOKEN");
        });
    };
    asio::posix::stream_descriptor script_input(io);
    try {
        script_input.assign(::dup(STDIN_FILENO));
        asio::co_spawn(
            io, read_script(script_input, fake.state().media(), companion.device(), dmap, sleep),
            asio::detached);
    } catch (const std::system_error& error) {
        spdlog::debug("no script on stdin: {}", error.what());
    }

    asio::signal_set signals(io, SIGTERM, SIGINT);
    int exit_code = 0;
    bool stopping = false;
    const auto shut_down = [&](int code) {
        if (stopping) {
            return;
        }
        stopping = true;
        exit_code = code;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await fake.stop();
                co_await companion.stop();
                co_await dmap.stop();
                co_await airplay.stop();
                std::error_code ignored;
                script_input.close(ignored);
                knock_listener.close(ignored);
                signals.cancel();  // the last piece of work: io.run() returns
            },
            asio::detached);
    };

    signals.async_wait([&](std::error_code ec, int) {
        if (!ec) {
            spdlog::info("stopping on signal");
            shut_down(0);
        }
    });

    if (options.publish) {
        auto services = atv::fakes::apple_tv_services(
            options.config.name, options.config.mac, fake.state().unique_identifier(),
            atv::to_hex(fake.state().identity().keys.public_key), port, options.shape);
        for (auto& service : services) {
            if (service.type == "_companion-link._tcp")
                service.port = companion.port();
            if (service.type == "_airplay._tcp" || service.type == "_raop._tcp") {
                service.port = airplay.port();
            }
        }
        if (options.dmap) {
            services.push_back(
                atv::fakes::dmap_service(options.config.name, options.config.mac, dmap.port()));
            if (!options.home_sharing.empty()) {
                services.back().txt.push_back("hG=" + options.home_sharing);
            }
        }
        awake_services = services;
        publisher = std::make_unique<atv::fakes::AvahiPublisher>(
            std::move(services),
            [&io, port] {
                asio::post(io, [port] { print_line("READY " + std::to_string(port)); });
            },
            [&io, &shut_down](const std::string& reason) {
                asio::post(io, [reason, &shut_down] {
                    spdlog::error("{}", reason);
                    shut_down(1);
                });
            });
        try {
            publisher->start();
        } catch (const std::exception& error) {
            spdlog::error("{}", error.what());
            return 1;
        }
    } else {
        print_line("READY " + std::to_string(port));
    }

    io.run();
    publisher.reset();
    return exit_code;
}
