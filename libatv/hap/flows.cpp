#include "hap/flows.hpp"

#include <spdlog/spdlog.h>

#include "atv/error.hpp"
#include "hap/pair_verify.hpp"

namespace atv::hap {

PairSetupFlow::PairSetupFlow(ClientIdentity identity, std::optional<std::string> display_name,
                             SrpIntegerEncoding encoding)
    : controller_(std::move(identity), std::move(display_name), false, encoding) {}

asio::awaitable<void> PairSetupFlow::begin(const TlvExchange& exchange) {
    spdlog::debug("pair-setup: sending M1");
    m2_ = co_await exchange(controller_.m1());
    spdlog::debug("pair-setup: M2 received ({} bytes)", m2_->size());
}

void PairSetupFlow::pin(std::string pin) {
    controller_.set_pin(std::move(pin));
}

asio::awaitable<HapCredentials> PairSetupFlow::finish(const TlvExchange& exchange) {
    if (!m2_) {
        throw Error(ErrorKind::invalid_state, "pair-setup has not begun");
    }
    const Bytes m4 = co_await exchange(controller_.m3(*m2_));
    spdlog::debug("pair-setup: M4 received");
    const Bytes m6 = co_await exchange(controller_.m5(m4));
    spdlog::debug("pair-setup: M6 received");
    co_return controller_.finish(m6);
}

asio::awaitable<SecretBytes> transient_pair_setup(const TlvExchange& exchange,
                                                  SrpIntegerEncoding encoding) {
    PairSetupController controller(ClientIdentity::generate(), std::nullopt, true, encoding);
    const Bytes m2 = co_await exchange(controller.m1());
    const Bytes m4 = co_await exchange(controller.m3(m2));
    controller.finish_transient(m4);
    spdlog::debug("pair-setup: transient pairing done");
    co_return controller.srp_session_key();
}

asio::awaitable<SecretBytes> pair_verify(const HapCredentials& credentials,
                                         const TlvExchange& exchange) {
    PairVerifyController controller(credentials);
    const Bytes m2 = co_await exchange(controller.m1());
    const Bytes m4 = co_await exchange(controller.m3(m2));
    controller.finish(m4);
    spdlog::debug("pair-verify: done");
    co_return controller.shared_secret();
}

}  // namespace atv::hap
