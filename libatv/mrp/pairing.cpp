#include "mrp/pairing.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "atv/error.hpp"
#include "hap/errors.hpp"
#include "hap/pair_verify.hpp"
#include "hap/tlv8.hpp"
#include "mrp/handshake.hpp"

namespace atv::mrp {

MrpPairingHandler::MrpPairingHandler(asio::any_io_executor executor, std::string address,
                                     std::uint16_t port, hap::ClientIdentity identity,
                                     PairingOptions options)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      port_(port),
      identity_(std::move(identity)),
      options_(std::move(options)) {}

MrpPairingHandler::~MrpPairingHandler() {
    if (channel_) {
        channel_->abort();
    }
}

asio::awaitable<void> MrpPairingHandler::begin() {
    if (channel_) {
        throw Error(ErrorKind::invalid_state, "pairing has already begun; finish or close it");
    }
    std::exception_ptr failure;
    try {
        co_await start_pair_setup();
    } catch (const hap::HapError& error) {
        try {
            hap::rethrow_wrong_pin_plainly(error, "with the Apple TV");
        } catch (...) {
            failure = std::current_exception();
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        co_await release();
        std::rethrow_exception(failure);
    }
}

asio::awaitable<void> MrpPairingHandler::start_pair_setup() {
    const std::uint64_t attempt = ++attempt_;
    auto socket = co_await connect_tcp(executor_, address_, port_, step_timeout_);
    if (attempt != attempt_) {
        // close() ran while connecting: the new socket must not outlive it.
        throw Error(ErrorKind::invalid_state, "the pairing was closed while connecting");
    }
    channel_ = MrpChannel::create(std::move(socket));
    channel_->start();
    ClientDescription client{identity_.client_id, options_.name};
    co_await exchange_device_information(*channel_, client, step_timeout_);
    // MRP sends no display name in pair-setup; the name travels in DEVICE_INFO.
    setup_.emplace(identity_, std::nullopt);
    m2_ = co_await exchange_pairing_data(*channel_, setup_->m1(), true, step_timeout_);
    // A refusal (back-off, busy) comes instead of M2: report it now, not after the PIN.
    hap::throw_if_device_error(hap::Tlv8::decode(m2_), hap::HapStage::pair_setup, 2);
    spdlog::info("mrp: the device at {} now shows a PIN", address_);
}

void MrpPairingHandler::pin(const std::string& pin) {
    if (!setup_) {
        throw Error(ErrorKind::invalid_state, "call begin() before entering the PIN");
    }
    setup_->set_pin(pin);
    pin_entered_ = true;
}

asio::awaitable<void> MrpPairingHandler::finish() {
    if (!setup_ || !channel_) {
        throw Error(ErrorKind::invalid_state, "call begin() before finish()");
    }
    if (!pin_entered_) {
        throw Error(ErrorKind::invalid_state, "enter the PIN shown on the TV before finish()");
    }
    std::exception_ptr failure;
    try {
        co_await complete_pair_setup();
    } catch (const hap::HapError& error) {
        try {
            hap::rethrow_wrong_pin_plainly(error, "with the Apple TV");
        } catch (...) {
            failure = std::current_exception();
        }
    } catch (...) {
        failure = std::current_exception();
    }
    co_await release();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

asio::awaitable<void> MrpPairingHandler::complete_pair_setup() {
    const Bytes m4 =
        co_await exchange_pairing_data(*channel_, setup_->m3(m2_), false, step_timeout_);
    const Bytes m6 =
        co_await exchange_pairing_data(*channel_, setup_->m5(m4), false, step_timeout_);
    hap::HapCredentials credentials = setup_->finish(m6);

    // Prove the new credentials before handing them out.
    hap::PairVerifyController verify(credentials);
    try {
        const Bytes verify_m2 =
            co_await exchange_pairing_data(*channel_, verify.m1(), false, step_timeout_);
        const Bytes verify_m4 =
            co_await exchange_pairing_data(*channel_, verify.m3(verify_m2), false, step_timeout_);
        verify.finish(verify_m4);
    } catch (const Error& error) {
        if (error.kind() == ErrorKind::timeout || error.kind() == ErrorKind::connection_failed) {
            throw;
        }
        throw Error(ErrorKind::pairing_failed,
                    std::string("the Apple TV did not accept the credentials it just issued (") +
                        error.what() + "); start pairing again");
    }
    credentials_ = credentials.to_string();
    spdlog::info("mrp: paired with the device at {}", address_);
}

asio::awaitable<void> MrpPairingHandler::close() {
    ++attempt_;
    co_await release();
}

asio::awaitable<void> MrpPairingHandler::release() {
    setup_.reset();
    m2_.clear();
    pin_entered_ = false;
    if (auto channel = std::move(channel_)) {
        co_await channel->close();
    }
}

std::string MrpPairingHandler::credentials() const {
    if (!credentials_) {
        throw Error(ErrorKind::invalid_state, "no credentials: pairing has not completed");
    }
    return *credentials_;
}

}  // namespace atv::mrp
