// What a player needs of the bridge: calls to atvd on the system bus.
#pragma once

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Message.h>

#include <functional>
#include <optional>
#include <string>

namespace atvd::mpris {

class AtvdLink {
  public:
    // `reply` is null when the call failed; then `error` says why.
    using Done = std::function<void(sdbus::MethodReply* reply, const sdbus::Error* error)>;

    virtual ~AtvdLink() = default;
    // Calls `method` of `interface` on atvd's object `path`; `fill` appends the arguments.
    // `done` runs on the loop when the reply (or a timeout) comes, unless the system bus
    // connection is lost first.
    virtual void call(const std::string& path, const std::string& interface,
                      const std::string& method,
                      const std::function<void(sdbus::MethodCall&)>& fill, Done done) = 0;
};

}  // namespace atvd::mpris
