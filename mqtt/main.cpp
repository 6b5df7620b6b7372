// atvd-mqtt: atvd's devices on an MQTT broker. One thread, one poll loop: the D-Bus connection,
// the broker's socket and the signals; each handler runs to completion and nothing blocks.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "bridge.hpp"
#include "log.hpp"
#include "options.hpp"

namespace {

using namespace atvd::mqtt;
using Clock = std::chrono::steady_clock;

std::unique_ptr<sdbus::IConnection> open_bus(const Options& options) {
    if (!options.bus_address.empty()) {
        return sdbus::createSessionBusConnectionWithAddress(options.bus_address);
    }
    // sd-bus honours DBUS_SYSTEM_BUS_ADDRESS itself.
    return sdbus::createSystemBusConnection();
}

int run(const Options& options) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a broker that hangs up is an error code, not a signal
    const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);

    auto bus = open_bus(options);
    Bridge bridge(options, *bus);
    bridge.start();
    log(Level::info, "atvd-mqtt " + options.prefix + "/" + options.node_id + " started");

    int status = EXIT_SUCCESS;
    while (true) {
        try {
            while (bus->processPendingRequest()) {
            }
        } catch (const sdbus::Error& error) {
            log(Level::error, "lost the bus: " + error.getMessage());
            status = EXIT_FAILURE;
            break;
        }
        bridge.flush();

        const auto bus_poll = bus->getEventLoopPollData();
        auto deadline = std::min(bridge.broker().deadline(), bridge.deadline());
        if (const auto bus_timeout = bus_poll.getRelativeTimeout()) {
            if (*bus_timeout < std::chrono::hours(24)) {
                deadline = std::min(
                    deadline,
                    Clock::now() + std::chrono::duration_cast<Clock::duration>(*bus_timeout));
            }
        }
        int wait = -1;
        if (deadline != Clock::time_point::max()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            wait = static_cast<int>(std::clamp<long>(left.count(), 0, 60000));
        }
        pollfd fds[3] = {{bus_poll.fd, bus_poll.events, 0},
                         bridge.broker().poll_entry(),
                         {signal_fd, POLLIN, 0}};
        if (::poll(fds, 3, wait) < 0 && errno != EINTR) {
            log(Level::error, std::string("poll failed: ") + std::strerror(errno));
            status = EXIT_FAILURE;
            break;
        }
        if (fds[2].revents & POLLIN) {
            log(Level::info, "stopping");
            break;
        }
        if (fds[0].revents & (POLLHUP | POLLERR)) {
            // processPendingRequest reports the loss on the next round.
            fds[0].revents |= POLLIN;
        }
        bridge.broker().run(fds[1].fd >= 0 ? fds[1].revents : 0);
    }
    bridge.shutdown();
    ::close(signal_fd);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    if (options.exit_now) {
        return options.exit_code;
    }
    set_log_level(options.log_level);
    try {
        return run(options);
    } catch (const sdbus::Error& error) {
        log(Level::error, "atvd-mqtt: " + error.getName() + ": " + error.getMessage());
    } catch (const std::exception& error) {
        log(Level::error, std::string("atvd-mqtt: ") + error.what());
    }
    return EXIT_FAILURE;
}
