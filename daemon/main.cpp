// atvd: finds Apple TVs and AirPlay devices and offers pairing and connecting on D-Bus.
#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <cstdlib>
#include <utility>

#include "atv/discovery.hpp"
#include "atv/storage.hpp"
#include "atvd-config.h"
#include "bus_loop.hpp"
#include "caller.hpp"
#include "context.hpp"
#include "event_loop.hpp"
#include "logging.hpp"
#include "manager.hpp"
#include "options.hpp"

namespace {

constexpr const char* bus_name = "org.atvd";
constexpr const char* admin_group = "atvd";

// The command line, kept to read the configuration again on SIGHUP with the same precedence.
struct CommandLine {
    int argc;
    char** argv;
};

// SIGHUP: reads atvd.conf again and applies what can change while running (log level and
// target, vanish grace). A refused file keeps every current setting.
class Reloader {
  public:
    Reloader(asio::io_context& io, CommandLine command_line, atvd::Options current,
             atvd::Settings& settings)
        : hangup_(io, SIGHUP),
          command_line_(command_line),
          current_(std::move(current)),
          settings_(settings) {}

    void start() {
        hangup_.async_wait([this](std::error_code ec, int) {
            if (ec) {
                return;
            }
            reload();
            start();
        });
    }

    void stop() { hangup_.cancel(); }

  private:
    void reload() {
        atvd::Options next = atvd::reparse_options(command_line_.argc, command_line_.argv);
        if (!next.problem.empty()) {
            spdlog::error("configuration not reloaded, keeping the current settings: {}",
                          next.problem);
            return;
        }
        atvd::setup_logging(next.log_target, next.log_level);
        settings_.vanish_grace = next.settings.vanish_grace;
        settings_.reconnect_first = next.settings.reconnect_first;
        settings_.reconnect_longest = next.settings.reconnect_longest;
        if (next.state_dir != current_.state_dir) {
            spdlog::warn("the state folder stays {} until atvd restarts",
                         current_.state_dir.string());
            next.state_dir = current_.state_dir;
        }
        spdlog::info("configuration reloaded from {}: log level {}, vanish grace {} ms",
                     next.config_file.string(), next.log_level, next.settings.vanish_grace.count());
        current_ = std::move(next);
    }

    asio::signal_set hangup_;
    CommandLine command_line_;
    atvd::Options current_;
    atvd::Settings& settings_;
};

std::unique_ptr<sdbus::IConnection> open_bus(const atvd::Options& options) {
    switch (options.bus) {
        case atvd::BusKind::system:
            return sdbus::createSystemBusConnection();
        case atvd::BusKind::user:
            return sdbus::createSessionBusConnection();
        case atvd::BusKind::address:
            return sdbus::createSessionBusConnectionWithAddress(options.bus_address);
    }
    return nullptr;
}

atv::Identity load_identity(atv::SecretsStore& store) {
    auto stored = store.load_or_create_identity();
    return atv::Identity{std::move(stored.client_id), std::move(stored.seed)};
}

int run(const atvd::Options& options, CommandLine command_line) {
    atvd::EventLoop io(1);
    auto bus = open_bus(options);
    atvd::BusLoop loop(io, *bus);
    // With LoadCredentialEncrypted=atvd.key in the unit, credentials are also encrypted at rest.
    atv::SecretsStore store(options.state_dir, atv::SecretsStore::at_rest_key_from_environment());
    const atv::Identity identity = load_identity(store);
    const atvd::Authorization authorization(admin_group);
    atvd::Context context{io, *bus, loop, authorization, store, identity, options.settings};

    atvd::Manager manager(context);
    manager.restore(store.load_all());

    atv::DiscoveryEvents events;
    events.on_state = [&](bool running) { manager.discovery_state(running); };
    events.on_device = [&](std::uint64_t key, const atv::DeviceConfig& config) {
        manager.discovered(key, config);
    };
    events.on_device_gone = [&](std::uint64_t key) { manager.discovery_lost(key); };
    atv::Discovery discovery(io, std::move(events));

    int exit_code = EXIT_SUCCESS;
    Reloader reloader(io, command_line, options, context.settings);
    bool shutting_down = false;
    // Pairings and connections end as on the device's own side, then the loop stops. After the
    // bus failed, objects go without a word on it (see properties.hpp).
    auto shut_down = [&] {
        if (std::exchange(shutting_down, true)) {
            return;
        }
        reloader.stop();
        discovery.stop();
        asio::co_spawn(io, manager.shut_down(), [&](std::exception_ptr) { io.stop(); });
    };
    loop.on_disconnect([&] {
        spdlog::critical("lost the D-Bus connection; shutting down");
        exit_code = EXIT_FAILURE;
        shut_down();
    });
    // Signals are handled before the name is taken: from then on systemd (Type=dbus) and
    // tests may stop or reload atvd at any moment.
    reloader.start();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int signal) {
        if (ec) {
            return;
        }
        spdlog::info("signal {} received; shutting down", signal);
        shut_down();
    });
    bus->requestName(bus_name);
    loop.start();
    discovery.start();
    spdlog::info("atvd {} running as {} on the bus, credentials in {}", ATVD_VERSION, bus_name,
                 options.state_dir.string());
    spdlog::debug("settings: log level {}, vanish grace {} ms", options.log_level,
                  options.settings.vanish_grace.count());

    // A handler that throws must not take every device and client down with it.
    while (true) {
        try {
            io.run_paced(loop.pacing());
            break;
        } catch (const std::exception& error) {
            spdlog::error("unexpected error, continuing: {}", error.what());
        }
    }
    io.discard_pending();
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    const atvd::Options options = atvd::parse_options(argc, argv);
    if (options.exit_now) {
        return options.exit_code;
    }
    atvd::setup_logging(options.log_target, options.log_level);
    try {
        return run(options, CommandLine{argc, argv});
    } catch (const sdbus::Error& error) {
        spdlog::critical("D-Bus: {} ({})", error.getMessage(), error.getName());
    } catch (const std::exception& error) {
        spdlog::critical("{}", error.what());
    }
    return EXIT_FAILURE;
}
