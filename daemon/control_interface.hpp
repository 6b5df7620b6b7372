// What every control interface object of a connected device does alike (RemoteControl1,
// Player1, Audio1, Power1, Apps1, Keyboard1): who may call, deferred replies, leaving the bus
// only once it owes none (see bus_presence.hpp), and joining or leaving the device's path as the
// connection's features call for it.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bus_errors.hpp"
#include "bus_presence.hpp"
#include "caller.hpp"
#include "context.hpp"

namespace atvd {

struct ControlState;

template <typename Adaptor>
class ControlInterface : public sdbus::AdaptorInterfaces<Adaptor>,
                         public std::enable_shared_from_this<ControlInterface<Adaptor>> {
  public:
    ControlInterface(Context& context, const std::string& path, std::shared_ptr<ControlState> state)
        : sdbus::AdaptorInterfaces<Adaptor>(context.bus, path),
          context_(context),
          state_(std::move(state)),
          presence_([this] { this->unregisterAdaptor(); }) {}
    ~ControlInterface() { withdraw(); }
    ControlInterface(const ControlInterface&) = delete;
    ControlInterface& operator=(const ControlInterface&) = delete;

    // Leaves the bus now, or once the last reply it owes is out.
    void withdraw() { presence_.leave(); }
    sdbus::IObject& object() { return this->getObject(); }

  protected:
    void require_admin(const char* method) const {
        context_.authorization.require_admin(current_caller(this->getObject()), method);
    }

    // Runs `work` outside the bus dispatch and replies when it ends.
    template <typename Result, typename Work>
    void reply_when_done(Result&& result, Work work) {
        reply_later(context_.io, context_.loop, {this->shared_from_this(), &presence_},
                    std::forward<Result>(result), std::move(work));
    }

    Context& context_;
    std::shared_ptr<ControlState> state_;

  private:
    BusPresence presence_;
};

// Creates or withdraws one interface object to match `wanted`, noting its name in `added` or
// `removed`.
template <typename Object>
void sync_one(std::shared_ptr<Object>& object, bool wanted, Context& context,
              const std::string& path, const std::shared_ptr<ControlState>& state, const char* name,
              std::vector<std::string>& added, std::vector<std::string>& removed) {
    if (wanted && object == nullptr) {
        try {
            object = std::make_shared<Object>(context, path, state);
            added.emplace_back(name);
        } catch (const sdbus::Error& error) {
            // The previous connection's object may still owe a reply at this path.
            spdlog::warn("{} could not be offered at {}: {}", name, path, error.getMessage());
        }
    } else if (!wanted && object != nullptr) {
        object->withdraw();
        object.reset();
        removed.emplace_back(name);
    }
}

}  // namespace atvd
