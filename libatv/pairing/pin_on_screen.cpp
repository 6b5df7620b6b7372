#include "pairing/pin_on_screen.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "atv/error.hpp"
#include "hap/errors.hpp"
#include "hap/pair_verify.hpp"
#include "hap/tlv8.hpp"

namespace atv {
namespace {

// close() may come while a step awaits the device; what the step has in hand then is stale.
Error closed_while(const std::string& step) {
    return Error(ErrorKind::invalid_state, "the pairing was closed while " + step);
}

}  // namespace

PinOnScreenPairing::PinOnScreenPairing(std::string address, std::string subject)
    : address_(std::move(address)), subject_(std::move(subject)) {}

asio::awaitable<void> PinOnScreenPairing::begin() {
    if (begun_) {
        throw Error(ErrorKind::invalid_state, "pairing has already begun; finish or close it");
    }
    begun_ = true;
    // Awaitables are named locals: GCC 12 destroys temporaries of a co_await expression twice
    // when the awaited coroutine throws.
    auto showing = show_pin();
    auto guarding = guarded(std::move(showing), false);
    co_await std::move(guarding);
}

asio::awaitable<void> PinOnScreenPairing::show_pin() {
    const std::uint64_t attempt = ++attempt_;
    co_await connect();
    if (attempt != attempt_) {
        // The new connection must not outlive the close().
        throw closed_while("connecting");
    }
    co_await request_pin();
    if (attempt != attempt_) {
        throw closed_while("asking the device for a PIN");
    }
    pin_shown_ = true;
    spdlog::info("{}: the device at {} now shows a PIN", to_string(protocol()), address_);
}

void PinOnScreenPairing::pin(const std::string& pin) {
    if (!pin_shown_) {
        throw Error(ErrorKind::invalid_state, "call begin() before entering the PIN");
    }
    pin_ = hap::normalise_pin(pin);
}

asio::awaitable<void> PinOnScreenPairing::finish() {
    if (!pin_shown_) {
        throw Error(ErrorKind::invalid_state, "call begin() before finish()");
    }
    if (!pin_) {
        throw Error(ErrorKind::invalid_state, "enter the PIN shown on the TV before finish()");
    }
    auto completing = complete();
    auto guarding = guarded(std::move(completing), true);
    co_await std::move(guarding);
}

asio::awaitable<void> PinOnScreenPairing::complete() {
    const std::uint64_t attempt = attempt_;
    auto pairing = pair_with_pin(*pin_);
    std::string credentials = co_await std::move(pairing);
    if (attempt != attempt_) {
        throw closed_while("pairing");
    }
    credentials_ = std::move(credentials);
    spdlog::info("{}: paired with the device at {}", to_string(protocol()), address_);
}

asio::awaitable<void> PinOnScreenPairing::prove(asio::awaitable<void> verifying) const {
    try {
        co_await std::move(verifying);
    } catch (const Error& error) {
        if (error.kind() == ErrorKind::timeout || error.kind() == ErrorKind::connection_failed ||
            error.kind() == ErrorKind::invalid_state) {
            throw;
        }
        throw Error(ErrorKind::pairing_failed,
                    "pairing " + subject_ +
                        " failed: the device did not accept the credentials it just issued (" +
                        error.what() + "); start pairing again");
    }
}

asio::awaitable<void> PinOnScreenPairing::guarded(asio::awaitable<void> step,
                                                  bool release_on_success) {
    std::exception_ptr failure;
    try {
        co_await std::move(step);
    } catch (const hap::HapError& error) {
        try {
            hap::rethrow_wrong_pin_plainly(error, subject_);
        } catch (...) {
            failure = std::current_exception();
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure || release_on_success) {
        co_await release();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

asio::awaitable<void> PinOnScreenPairing::close() {
    ++attempt_;
    co_await release();
}

asio::awaitable<void> PinOnScreenPairing::release() {
    begun_ = false;
    pin_shown_ = false;
    if (pin_) {
        wipe(pin_->data(), pin_->size());
        pin_.reset();
    }
    co_await disconnect();
}

std::string PinOnScreenPairing::credentials() const {
    if (!credentials_) {
        throw Error(ErrorKind::invalid_state, "no credentials: pairing has not completed");
    }
    return *credentials_;
}

HapPinOnScreenPairing::HapPinOnScreenPairing(std::string address, std::string subject,
                                             hap::ClientIdentity identity,
                                             std::optional<std::string> display_name)
    : PinOnScreenPairing(std::move(address), std::move(subject)),
      identity_(std::move(identity)),
      display_name_(std::move(display_name)) {}

asio::awaitable<void> HapPinOnScreenPairing::request_pin() {
    setup_.emplace(identity_, display_name_);
    auto m1 = send(setup_->m1(), true);
    m2_ = co_await std::move(m1);
    hap::throw_if_device_error(hap::Tlv8::decode(m2_), hap::HapStage::pair_setup, 2);
}

hap::PairSetupController& HapPinOnScreenPairing::setup() {
    if (!setup_) {
        throw closed_while("pairing");
    }
    return *setup_;
}

asio::awaitable<Bytes> HapPinOnScreenPairing::send(Bytes message, bool first) {
    if (!setup_) {
        throw closed_while("pairing");
    }
    auto exchanging = exchange(std::move(message), first);
    co_return co_await std::move(exchanging);
}

asio::awaitable<std::string> HapPinOnScreenPairing::pair_with_pin(std::string pin) {
    setup().set_pin(std::move(pin));
    auto m3 = send(setup().m3(m2_), false);
    const Bytes m4 = co_await std::move(m3);
    auto m5 = send(setup().m5(m4), false);
    const Bytes m6 = co_await std::move(m5);
    const hap::HapCredentials credentials = setup().finish(m6);
    auto verifying = verify(credentials);
    auto proving = prove(std::move(verifying));
    co_await std::move(proving);
    co_return credentials.to_string();
}

asio::awaitable<void> HapPinOnScreenPairing::verify(const hap::HapCredentials& credentials) {
    hap::PairVerifyController verify(credentials);
    auto m1 = send(verify.m1(), false);
    const Bytes m2 = co_await std::move(m1);
    auto m3 = send(verify.m3(m2), false);
    const Bytes m4 = co_await std::move(m3);
    verify.finish(m4);
}

asio::awaitable<void> HapPinOnScreenPairing::disconnect() {
    setup_.reset();
    m2_.clear();
    co_await close_connection();
}

}  // namespace atv
