#include "companion/pairing.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "atv/error.hpp"
#include "hap/errors.hpp"
#include "hap/tlv8.hpp"

namespace atv::companion {

namespace {

// Runs a pairing step; on failure releases the connection and rethrows, a wrong PIN reworded.
template <typename Step, typename Release>
asio::awaitable<void> guarded(Step step, Release release, bool release_on_success) {
    std::exception_ptr failure;
    try {
        co_await step();
    } catch (const hap::HapError& error) {
        try {
            hap::rethrow_wrong_pin_plainly(error, "Companion with the Apple TV");
        } catch (...) {
            failure = std::current_exception();
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure || release_on_success)
        co_await release();
    if (failure)
        std::rethrow_exception(failure);
}

}  // namespace

CompanionPairingHandler::CompanionPairingHandler(asio::any_io_executor executor,
                                                 std::string address, std::uint16_t port,
                                                 hap::ClientIdentity identity,
                                                 PairingOptions options)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      port_(port),
      identity_(std::move(identity)),
      options_(std::move(options)) {}

CompanionPairingHandler::~CompanionPairingHandler() {
    if (channel_)
        channel_->abort();
}

asio::awaitable<void> CompanionPairingHandler::begin() {
    if (channel_) {
        throw Error(ErrorKind::invalid_state, "pairing has already begun; finish or close it");
    }
    co_await guarded([this] { return start_pair_setup(); }, [this] { return release(); }, false);
}

asio::awaitable<void> CompanionPairingHandler::start_pair_setup() {
    const std::uint64_t attempt = ++attempt_;
    auto socket = co_await connect_companion_tcp(executor_, address_, port_, step_timeout_);
    if (attempt != attempt_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed while connecting");
    }
    channel_ = CompanionChannel::create(std::move(socket));
    channel_->start();
    exchange_.emplace(*channel_, AuthExchange::setup, step_timeout_);
    setup_.emplace(identity_, options_.name);
    // Messages are named locals: GCC 12 destroys temporaries passed to a coroutine inside
    // co_await twice when it throws.
    Bytes m1 = setup_->m1();
    m2_ = co_await (*exchange_)(std::move(m1));
    // A refusal (back-off, busy) comes instead of M2: report it now, not after the PIN.
    hap::throw_if_device_error(hap::Tlv8::decode(m2_), hap::HapStage::pair_setup, 2);
    spdlog::info("companion: the device at {} now shows a PIN", address_);
}

void CompanionPairingHandler::pin(const std::string& pin) {
    if (!setup_)
        throw Error(ErrorKind::invalid_state, "call begin() before entering the PIN");
    setup_->set_pin(pin);
    pin_entered_ = true;
}

asio::awaitable<void> CompanionPairingHandler::finish() {
    if (!setup_ || !channel_)
        throw Error(ErrorKind::invalid_state, "call begin() before finish()");
    if (!pin_entered_) {
        throw Error(ErrorKind::invalid_state, "enter the PIN shown on the TV before finish()");
    }
    co_await guarded([this] { return complete_pair_setup(); }, [this] { return release(); }, true);
}

asio::awaitable<void> CompanionPairingHandler::complete_pair_setup() {
    Bytes m3 = setup_->m3(m2_);
    const Bytes m4 = co_await (*exchange_)(std::move(m3));
    Bytes m5 = setup_->m5(m4);
    const Bytes m6 = co_await (*exchange_)(std::move(m5));
    hap::HapCredentials credentials = setup_->finish(m6);
    try {
        co_await verify_and_encrypt(*channel_, credentials, step_timeout_);
    } catch (const Error& error) {
        if (error.kind() == ErrorKind::timeout || error.kind() == ErrorKind::connection_failed) {
            throw;
        }
        throw Error(ErrorKind::pairing_failed,
                    std::string("the Apple TV did not accept the Companion credentials it just "
                                "issued (") +
                        error.what() + "); start pairing again");
    }
    credentials_ = credentials.to_string();
    spdlog::info("companion: paired with the device at {}", address_);
}

asio::awaitable<void> CompanionPairingHandler::close() {
    ++attempt_;
    co_await release();
}

asio::awaitable<void> CompanionPairingHandler::release() {
    setup_.reset();
    exchange_.reset();
    m2_.clear();
    pin_entered_ = false;
    if (auto channel = std::move(channel_))
        co_await channel->close();
}

std::string CompanionPairingHandler::credentials() const {
    if (!credentials_) {
        throw Error(ErrorKind::invalid_state, "no credentials: pairing has not completed");
    }
    return *credentials_;
}

}  // namespace atv::companion
