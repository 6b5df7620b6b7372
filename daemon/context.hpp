// What every bus object of the daemon shares.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <asio/io_context.hpp>
#include <chrono>

#include "atv/atv.hpp"
#include "atv/storage.hpp"
#include "bus_loop.hpp"
#include "caller.hpp"

namespace atvd {

struct Settings {
    // How long a device that left the network stays visible (Present=false) before an
    // unpaired one is removed.
    std::chrono::milliseconds vanish_grace{5000};
    // A device seen for the first time is exported once its services had this long to arrive
    // together, so that its object path comes from its main identifier, whatever the order in
    // which Avahi resolves them. A device whose MRP service comes first is exported at once:
    // nothing can outrank MRP's identifier.
    std::chrono::milliseconds new_device_settle{200};
    std::chrono::milliseconds connect_timeout{15000};
    std::chrono::milliseconds default_scan_timeout{3000};
    std::chrono::milliseconds default_pairing_timeout{300000};
    // AutoConnect: the first delay after a loss, doubling up to the longest; a connection that
    // lasted starts the delays again from the first.
    std::chrono::milliseconds reconnect_first{1000};
    std::chrono::milliseconds reconnect_longest{300000};
    std::chrono::milliseconds lasting_connection{60000};
    // How long Connect waits for a device it woke from deep sleep to announce itself.
    std::chrono::milliseconds wake_timeout{10000};
};

struct Context {
    asio::io_context& io;
    sdbus::IConnection& bus;
    BusLoop& loop;
    const Authorization& authorization;
    atv::SecretsStore& store;
    const atv::Identity& identity;
    Settings settings;
};

}  // namespace atvd
