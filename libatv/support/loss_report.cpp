#include "support/loss_report.hpp"

#include <asio/post.hpp>
#include <utility>

namespace atv {

LossReport::LossReport(asio::any_io_executor executor) : executor_(std::move(executor)) {}

bool LossReport::lose(const std::string& reason) {
    if (ended()) {
        return false;
    }
    state_->lost = true;
    state_->reason = reason;
    report();
    return true;
}

void LossReport::on_lost(Handler handler) {
    state_->handler = std::move(handler);
    if (state_->lost) {
        report();
    }
}

void LossReport::close() {
    state_->closed = true;
    state_->handler = nullptr;
}

// Taken out of the state when it runs, so a second report posted meanwhile finds nothing.
void LossReport::report() {
    if (!state_->handler) {
        return;
    }
    asio::post(executor_, [state = state_] {
        if (!state->closed && state->handler) {
            auto handler = std::exchange(state->handler, nullptr);
            handler(state->reason);
        }
    });
}

}  // namespace atv
