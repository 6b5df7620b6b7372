// atvd-mpris: every Apple TV atvd has connected, as an MPRIS player on the user's session bus.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "atvd-config.h"
#include "bridge.hpp"
#include "bus_loop.hpp"
#include "log.hpp"

namespace {

using atvd::mpris::BridgeSettings;
namespace mlog = atvd::mpris::log;

constexpr const char* usage =
    "Usage: atvd-mpris [OPTIONS]\n"
    "Shows every Apple TV that atvd has connected as an MPRIS media player on the session bus.\n"
    "\n"
    "  --system-bus-address ADDRESS   atvd's bus (default: $DBUS_SYSTEM_BUS_ADDRESS or the\n"
    "                                 system bus)\n"
    "  --session-bus-address ADDRESS  the players' bus (default: $DBUS_SESSION_BUS_ADDRESS)\n"
    "  -v, --verbose                  log debug messages\n"
    "  -h, --help                     show this help\n"
    "  --version                      show the version\n";

struct Options {
    std::string system_address;
    std::string session_address;
    bool verbose = false;
};

// Parses the command line; exits with 0 for --help/--version and 2 for a usage error.
Options parse(int argc, char** argv) {
    Options options;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        const auto value = [&](std::string_view name) -> std::string {
            const std::string prefix = std::string(name) + "=";
            if (arg.starts_with(prefix)) {
                return std::string(arg.substr(prefix.size()));
            }
            if (i + 1 >= args.size() || args[i + 1].empty()) {
                std::fprintf(stderr, "atvd-mpris: %s needs an address\n%s",
                             std::string(name).c_str(), usage);
                std::exit(2);
            }
            return std::string(args[++i]);
        };
        if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else if (arg == "--version") {
            std::printf("atvd-mpris %s\n", ATVD_VERSION);
            std::exit(0);
        } else if (arg == "-v" || arg == "--verbose") {
            options.verbose = true;
        } else if (arg.starts_with("--system-bus-address")) {
            options.system_address = value("--system-bus-address");
        } else if (arg.starts_with("--session-bus-address")) {
            options.session_address = value("--session-bus-address");
        } else {
            std::fprintf(stderr, "atvd-mpris: unknown argument '%s'\n%s", std::string(arg).c_str(),
                         usage);
            std::exit(2);
        }
    }
    return options;
}

// atvd lets root and the members of the group atvd control devices, by the user database's
// groups of the caller's user id; the same rule tells players whether to offer control.
bool may_control() {
    const uid_t uid = geteuid();
    if (uid == 0) {
        return true;
    }
    const group* admin = getgrnam("atvd");
    if (admin == nullptr) {
        return false;
    }
    const gid_t admin_gid = admin->gr_gid;
    const passwd* user = getpwuid(uid);
    if (user == nullptr) {
        return false;
    }
    int count = 32;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    while (getgrouplist(user->pw_name, user->pw_gid, groups.data(), &count) == -1) {
        groups.resize(static_cast<std::size_t>(count));
    }
    groups.resize(static_cast<std::size_t>(count));
    return std::find(groups.begin(), groups.end(), admin_gid) != groups.end();
}

// $XDG_RUNTIME_DIR/atvd-mpris, private to the user; empty when there is no runtime folder.
std::string artwork_dir() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime == nullptr || runtime[0] != '/') {
        mlog::warn("XDG_RUNTIME_DIR is not set: players show no artwork");
        return {};
    }
    std::string dir = std::string(runtime) + "/atvd-mpris";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        mlog::warn("cannot create {} ({}): players show no artwork", dir, std::strerror(errno));
        return {};
    }
    struct stat info {};
    if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != geteuid()) {
        mlog::warn("{} is not a folder of this user: players show no artwork", dir);
        return {};
    }
    return dir;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    mlog::threshold() = options.verbose ? mlog::Level::debug : mlog::Level::info;

    asio::io_context io(1);
    int status = 0;

    // A connection of its own tells when the session ends, players or not.
    std::unique_ptr<sdbus::IConnection> session;
    try {
        session = options.session_address.empty()
                      ? sdbus::createSessionBusConnection()
                      : sdbus::createSessionBusConnectionWithAddress(options.session_address);
    } catch (const sdbus::Error& error) {
        mlog::error("cannot reach the session bus: {}", error.getMessage());
        return 1;
    }
    const auto session_lost = [&] {
        mlog::error("lost the session bus; ending");
        status = 1;
        io.stop();
    };
    atvd::mpris::BusLoop session_loop(io, *session);
    session_loop.on_disconnect(session_lost);
    session_loop.start();

    BridgeSettings settings;
    settings.system_address = options.system_address;
    settings.player.session_address = options.session_address;
    settings.player.may_control = may_control();
    settings.player.artwork_dir = artwork_dir();
    if (!settings.player.may_control) {
        mlog::info(
            "this user is neither root nor in the group 'atvd': players only show "
            "what plays (CanControl false)");
    }

    atvd::mpris::Bridge bridge(io, settings);
    bridge.on_session_lost(session_lost);
    bridge.start();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (!ec) {
            io.stop();
        }
    });
    io.run();
    mlog::debug("ending with {} players", bridge.player_count());
    return status;
}
