#include "client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

namespace atv::ctl {

namespace {

std::unique_ptr<sdbus::IConnection> open_bus(BusKind bus, const std::string& address) {
    switch (bus) {
        case BusKind::user:
            return sdbus::createSessionBusConnection();
        case BusKind::address:
            return sdbus::createSessionBusConnectionWithAddress(address);
        case BusKind::system:
            break;
    }
    return sdbus::createSystemBusConnection();
}

std::vector<std::string> identifiers_of(const Properties& properties) {
    const auto found = properties.find("Identifiers");
    if (found == properties.end() ||
        !found->second.containsValueOfType<std::vector<std::string>>()) {
        return {};
    }
    return found->second.get<std::vector<std::string>>();
}

sigset_t interrupt_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    return signals;
}

// While the bus is driven, SIGINT and SIGTERM arrive as a readable descriptor so the loop
// can stop cleanly; outside it (e.g. at the PIN prompt) they act as usual.
class InterruptWatch {
  public:
    InterruptWatch() : signals_(interrupt_signals()) {
        sigprocmask(SIG_BLOCK, &signals_, nullptr);
        fd_ = signalfd(-1, &signals_, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    ~InterruptWatch() {
        ::close(fd_);
        sigprocmask(SIG_UNBLOCK, &signals_, nullptr);
    }
    InterruptWatch(const InterruptWatch&) = delete;
    InterruptWatch& operator=(const InterruptWatch&) = delete;

    int fd() const { return fd_; }
    // Takes the pending signal so unblocking does not deliver it again.
    void consume() {
        signalfd_siginfo info;
        while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        }
    }

  private:
    sigset_t signals_;
    int fd_ = -1;
};

}  // namespace

std::string text_property(const Properties& properties, const std::string& name) {
    const auto found = properties.find(name);
    return found == properties.end() ? std::string{} : variant_to_text(found->second);
}

Client::Client(BusKind bus, const std::string& address) : connection_(open_bus(bus, address)) {}

std::unique_ptr<sdbus::IProxy> Client::proxy(const std::string& path) {
    return sdbus::createProxy(*connection_, bus_name, path);
}

std::vector<Device> Client::devices() {
    ManagedObjects objects;
    proxy(manager_path)
        ->callMethod("GetManagedObjects")
        .onInterface("org.freedesktop.DBus.ObjectManager")
        .storeResultsTo(objects);
    std::map<std::string, Device> by_path;
    for (const auto& [path, interfaces] : objects) {
        if (const auto device = interfaces.find(device_interface); device != interfaces.end()) {
            by_path[path].path = path;
            by_path[path].properties = device->second;
        }
    }
    for (const auto& [path, interfaces] : objects) {
        const auto service = interfaces.find(service_interface);
        const std::string& text = path;
        const auto slash = text.rfind('/');
        if (service == interfaces.end() || slash == std::string::npos) {
            continue;
        }
        if (const auto owner = by_path.find(text.substr(0, slash)); owner != by_path.end()) {
            owner->second.services[text_property(service->second, "Protocol")] = service->second;
        }
    }
    std::vector<Device> list;
    for (auto& [path, device] : by_path) {
        list.push_back(std::move(device));
    }
    return list;
}

Device Client::resolve(const std::string& wanted) {
    auto list = devices();
    std::vector<Device> named;
    for (auto& device : list) {
        const auto ids = identifiers_of(device.properties);
        if (device.path == wanted || std::find(ids.begin(), ids.end(), wanted) != ids.end()) {
            return device;
        }
        if (text_property(device.properties, "Name") == wanted) {
            named.push_back(device);
        }
    }
    if (named.size() == 1) {
        return named.front();
    }
    if (named.size() > 1) {
        std::string message = "'" + wanted + "' names " + std::to_string(named.size()) +
                              " devices; use an identifier or a path:";
        for (const auto& device : named) {
            message += "\n  " + device.path + "  " +
                       text_property(device.properties, "Identifier") + "  " +
                       text_property(device.properties, "Address");
        }
        throw NotFound(message);
    }
    throw NotFound("no device '" + wanted + "' (try 'atvctl scan')");
}

Properties Client::properties(const std::string& path, const std::string& interface) {
    Properties values;
    proxy(path)
        ->callMethod("GetAll")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(interface)
        .storeResultsTo(values);
    return values;
}

sdbus::MethodReply Client::call_waiting(sdbus::IProxy& proxy, sdbus::MethodCall& call,
                                        std::chrono::seconds timeout,
                                        const std::function<void()>& tick) {
    std::optional<sdbus::MethodReply> reply;
    std::optional<sdbus::Error> error;
    bool answered = false;
    auto pending = proxy.callMethod(
        call,
        [&](sdbus::MethodReply& message, const sdbus::Error* failure) {
            answered = true;
            if (failure) {
                error = *failure;
            } else {
                reply = message;
            }
        },
        timeout);
    if (!run_until([&] { return answered; }, tick)) {
        pending.cancel();
        throw sdbus::Error("org.atvd.ctl.Interrupted", "interrupted");
    }
    if (error) {
        throw *error;
    }
    return *reply;
}

bool Client::run_until(const std::function<bool()>& done, const std::function<void()>& tick) {
    using namespace std::chrono;
    InterruptWatch interrupts;
    auto next_tick = steady_clock::now() + milliseconds(250);
    while (true) {
        while (connection_->processPendingRequest()) {
            if (done()) {
                return true;
            }
        }
        if (done()) {
            return true;
        }
        const auto poll_data = connection_->getEventLoopPollData();
        auto wait = duration_cast<milliseconds>(next_tick - steady_clock::now());
        if (const auto bus_timeout = poll_data.getRelativeTimeout()) {
            wait = std::min(wait, duration_cast<milliseconds>(*bus_timeout));
        }
        pollfd fds[2] = {{poll_data.fd, poll_data.events, 0}, {interrupts.fd(), POLLIN, 0}};
        ::poll(fds, 2, static_cast<int>(std::max<milliseconds::rep>(0, wait.count())));
        if (fds[1].revents & POLLIN) {
            interrupts.consume();
            return false;
        }
        if (steady_clock::now() >= next_tick) {
            next_tick = steady_clock::now() + milliseconds(250);
            if (tick) {
                tick();
            }
        }
    }
}

}  // namespace atv::ctl
