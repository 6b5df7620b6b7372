// An established connection to one protocol of a device.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <string>

#include "atv/control.hpp"
#include "atv/types.hpp"

namespace atv {

class ProtocolConnection {
  public:
    virtual ~ProtocolConnection() = default;

    [[nodiscard]] virtual Protocol protocol() const = 0;
    // Tears down every socket and task; returns once all of it is gone. Idempotent.
    virtual asio::awaitable<void> close() = 0;
    // Called once, on the loop, when the peer drops or stops answering; not after close().
    virtual void on_lost(std::function<void(const std::string& reason)> callback) = 0;
    // What this protocol can control of the device; nullptr when nothing. Lives as long as the
    // connection.
    virtual Control* control() { return nullptr; }
};

}  // namespace atv
