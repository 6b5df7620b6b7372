// org.atvd.PairingHandler1 at /org/atvd/devices/<ID>/<protocol>/pairing: one libatv pairing
// handler, driven step by step by the user who asked for it.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>

#include "atv/pairing.hpp"
#include "bus_presence.hpp"
#include "context.hpp"
#include "org.atvd.PairingHandler1.adaptor.h"

namespace atvd {

class PairingObject final
    : public sdbus::AdaptorInterfaces<org::atvd::PairingHandler1_adaptor,
                                      sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>,
      public std::enable_shared_from_this<PairingObject> {
  public:
    enum class State { created, begun, finished, failed, closed };

    struct Hooks {
        // Stores the credentials durably; Finish replies once this returns.
        std::function<asio::awaitable<void>(std::string credentials)> store_credentials;
        // The handler is closed (by Close, idle timeout or its device going away).
        std::function<void()> closed;
    };

    PairingObject(Context& context, std::string path, std::unique_ptr<atv::PairingHandler> handler,
                  uid_t owner, std::chrono::milliseconds idle_timeout, Hooks hooks);
    ~PairingObject();
    PairingObject(const PairingObject&) = delete;
    PairingObject& operator=(const PairingObject&) = delete;

    // Starts the idle timeout; call once the object is owned by a shared_ptr.
    void start();
    // Aborts the pairing on the device and withdraws the object.
    asio::awaitable<void> shut_down();
    // Withdraws the object (InterfacesRemoved); it leaves the bus once it owes no reply.
    void withdraw();

  private:
    void Begin(sdbus::Result<>&& result) override;
    void Pin(sdbus::Result<>&& result, std::string pin) override;
    void Finish(sdbus::Result<>&& result) override;
    void Close(sdbus::Result<>&& result) override;

    std::string Protocol() override;
    bool DeviceProvidesPin() override { return handler_->device_provides_pin(); }
    bool HasPaired() override { return handler_->has_paired(); }
    std::string State() override;

    // Checks the caller and the step's preconditions, then runs `step` as the one step in
    // flight, replying when it ends.
    void run_step(sdbus::Result<>&& result, const char* name,
                  std::function<asio::awaitable<void>()> step);
    asio::awaitable<void> begin_step();
    asio::awaitable<void> finish_step();
    void set_state(enum State state);
    void restart_idle_timer();
    ReplyOwner reply_owner();

    Context& context_;
    std::unique_ptr<atv::PairingHandler> handler_;
    uid_t owner_;
    std::chrono::milliseconds idle_timeout_;
    Hooks hooks_;
    asio::steady_timer idle_timer_;
    enum State state_ = State::created;
    bool step_running_ = false;
    bool pin_given_ = false;
    bool registered_ = false;
    BusPresence presence_;
};

}  // namespace atvd
