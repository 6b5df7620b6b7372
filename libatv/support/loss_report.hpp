// A connection's loss, told to whoever listens exactly once. The handler runs posted to the
// executor, so never inside a call of the connection; it runs at most once; a handler set after
// the loss is still called; and once the connection has begun to close, nothing is reported,
// not even a report already posted. MRP's and Companion's channels, the AirPlay tunnel, the
// DMAP play status watch and the RAOP session report their losses through it.
#pragma once

#include <asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>

namespace atv {

class LossReport {
  public:
    using Handler = std::function<void(const std::string& reason)>;

    explicit LossReport(asio::any_io_executor executor);

    // Records the loss and reports it. False, and nothing done, when the connection was lost
    // or closed already: the caller then has nothing to tear down either.
    bool lose(const std::string& reason);
    void on_lost(Handler handler);
    // Nothing is reported from now on; the handler is dropped.
    void close();

    [[nodiscard]] bool lost() const { return state_->lost; }
    [[nodiscard]] bool closed() const { return state_->closed; }
    // Lost or closed: the connection takes no more work.
    [[nodiscard]] bool ended() const { return state_->lost || state_->closed; }
    [[nodiscard]] const std::string& reason() const { return state_->reason; }

  private:
    // Shared with a posted report, which may run after the connection is gone.
    struct State {
        bool lost = false;
        bool closed = false;
        std::string reason;
        Handler handler;
    };

    void report();

    asio::any_io_executor executor_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace atv
