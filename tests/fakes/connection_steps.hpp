// What the protocols' loopback tests do alike: pair as a user would, and record the losses a
// connection reports.
#pragma once

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "atv/connection.hpp"
#include "atv/pairing.hpp"
#include "run_coroutine.hpp"

namespace atv::fakes {

// Begins, enters `pin`, finishes and closes; the credentials the pairing gave.
inline std::string pair_with_pin(asio::io_context& io, PairingHandler& handler,
                                 const std::string& pin) {
    run(io, handler.begin());
    handler.pin(pin);
    run(io, handler.finish());
    EXPECT_TRUE(handler.has_paired());
    std::string credentials = handler.credentials();
    run(io, handler.close());
    return credentials;
}

// Counts the losses a connection reports and keeps the last reason. The handler shares the
// record, so a report that comes after the recorder is gone harms nothing.
class LossRecorder {
  public:
    explicit LossRecorder(ProtocolConnection& connection) {
        connection.on_lost([record = record_](const std::string& reason) {
            ++record->count;
            record->reason = reason;
        });
    }

    // Runs until a loss is reported, then `settle` longer, so that a second report would be
    // counted too.
    void await(asio::io_context& io,
               std::chrono::milliseconds settle = std::chrono::milliseconds(200)) const {
        run_until(io, [record = record_] { return record->count > 0; });
        run_for(io, settle);
    }

    [[nodiscard]] int count() const { return record_->count; }
    [[nodiscard]] const std::string& reason() const { return record_->reason; }

  private:
    struct Record {
        int count = 0;
        std::string reason;
    };

    std::shared_ptr<Record> record_ = std::make_shared<Record>();
};

}  // namespace atv::fakes
