// A single-threaded client of atvd's D-Bus API: calls, object lookup and a poll loop.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "output.hpp"

namespace atv::ctl {

inline constexpr const char* bus_name = "org.atvd";
inline constexpr const char* manager_path = "/org/atvd";
inline constexpr const char* manager_interface = "org.atvd.Manager1";
inline constexpr const char* device_interface = "org.atvd.Device1";
inline constexpr const char* service_interface = "org.atvd.Service1";
inline constexpr const char* handler_interface = "org.atvd.PairingHandler1";

// A device or service that does not exist, or a name that matches several (exit code 3).
class NotFound : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

using Interfaces = std::map<std::string, Properties>;
using ManagedObjects = std::map<sdbus::ObjectPath, Interfaces>;

struct Device {
    std::string path;
    Properties properties;                       // org.atvd.Device1
    std::map<std::string, Properties> services;  // by protocol
};

class Client {
  public:
    Client(BusKind bus, const std::string& address);

    sdbus::IConnection& connection() { return *connection_; }
    std::unique_ptr<sdbus::IProxy> proxy(const std::string& path);

    std::vector<Device> devices();
    // DEVICE as given on the command line: path, identifier or unambiguous name.
    Device resolve(const std::string& wanted);
    Properties properties(const std::string& path, const std::string& interface);

    // Sends the call and drives the bus until the reply arrives, calling `tick` about
    // every 250 ms meanwhile. Throws sdbus::Error from the reply.
    sdbus::MethodReply call_waiting(sdbus::IProxy& proxy, sdbus::MethodCall& call,
                                    std::chrono::seconds timeout,
                                    const std::function<void()>& tick);

    // Drives the bus until `done()` or a SIGINT/SIGTERM; returns false when interrupted.
    bool run_until(const std::function<bool()>& done, const std::function<void()>& tick);

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
};

std::string text_property(const Properties& properties, const std::string& name);

}  // namespace atv::ctl
