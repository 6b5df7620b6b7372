#include "airplay/pairing.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "airplay/auth.hpp"
#include "atv/error.hpp"
#include "hap/errors.hpp"
#include "hap/pair_verify.hpp"
#include "hap/tlv8.hpp"

namespace atv::airplay {

namespace {

// Runs a pairing step; on failure releases the connection and rethrows, a wrong PIN reworded.
template <typename Step, typename Release>
asio::awaitable<void> guarded(Step step, Release release, bool release_on_success) {
    std::exception_ptr failure;
    try {
        co_await step();
    } catch (const hap::HapError& error) {
        try {
            hap::rethrow_wrong_pin_plainly(error, "AirPlay with the device");
        } catch (...) {
            failure = std::current_exception();
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure || release_on_success) release();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

AirPlayPairingHandler::AirPlayPairingHandler(asio::any_io_executor executor, std::string address,
                                             std::uint16_t port, hap::ClientIdentity identity,
                                             PairingOptions options)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      port_(port),
      identity_(std::move(identity)),
      options_(std::move(options)) {}

AirPlayPairingHandler::~AirPlayPairingHandler() = default;

asio::awaitable<Bytes> AirPlayPairingHandler::post(std::string path, Bytes body) {
    // Our own reference: close() may drop client_ while the request is under way.
    const std::shared_ptr<HttpClient> client = client_;
    if (!client) throw Error(ErrorKind::invalid_state, "the pairing was closed");
    auto posting = post_tlv(*client, std::move(path), std::move(body), step_timeout_);
    co_return co_await std::move(posting);
}

asio::awaitable<void> AirPlayPairingHandler::begin() {
    if (client_) {
        throw Error(ErrorKind::invalid_state, "pairing has already begun; finish or close it");
    }
    co_await guarded([this] { return start_pair_setup(); }, [this] { release(); }, false);
}

asio::awaitable<void> AirPlayPairingHandler::start_pair_setup() {
    const std::uint64_t attempt = ++attempt_;
    auto client = co_await HttpClient::connect(executor_, address_, port_, step_timeout_);
    if (attempt != attempt_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed while connecting");
    }
    client_ = std::move(client);
    // Each request is built in a statement of its own and then awaited: GCC 12 destroys
    // temporaries of a co_await expression twice when the awaited coroutine throws.
    auto pin_start = post("/pair-pin-start", {});
    co_await std::move(pin_start);
    setup_.emplace(identity_, options_.name);
    auto m1 = post("/pair-setup", setup_->m1());
    m2_ = co_await std::move(m1);
    // A refusal (back-off, busy) comes instead of M2: report it now, not after the PIN.
    hap::throw_if_device_error(hap::Tlv8::decode(m2_), hap::HapStage::pair_setup, 2);
    spdlog::info("airplay: the device at {} now shows a PIN", address_);
}

void AirPlayPairingHandler::pin(const std::string& pin) {
    if (!setup_) throw Error(ErrorKind::invalid_state, "call begin() before entering the PIN");
    setup_->set_pin(pin);
    pin_entered_ = true;
}

asio::awaitable<void> AirPlayPairingHandler::finish() {
    if (!setup_ || !client_) throw Error(ErrorKind::invalid_state, "call begin() before finish()");
    if (!pin_entered_) {
        throw Error(ErrorKind::invalid_state, "enter the PIN shown on the TV before finish()");
    }
    co_await guarded([this] { return complete_pair_setup(); }, [this] { release(); }, true);
}

asio::awaitable<void> AirPlayPairingHandler::complete_pair_setup() {
    auto m3 = post("/pair-setup", setup_->m3(m2_));
    const Bytes m4 = co_await std::move(m3);
    auto m5 = post("/pair-setup", setup_->m5(m4));
    const Bytes m6 = co_await std::move(m5);
    hap::HapCredentials credentials = setup_->finish(m6);
    try {
        const std::shared_ptr<HttpClient> client = client_;
        co_await verify_and_encrypt(*client, credentials, step_timeout_);
    } catch (const Error& error) {
        if (error.kind() == ErrorKind::timeout || error.kind() == ErrorKind::connection_failed) {
            throw;
        }
        throw Error(ErrorKind::pairing_failed,
                    std::string("the device did not accept the AirPlay credentials it just "
                                "issued (") +
                        error.what() + "); start pairing again");
    }
    credentials_ = credentials.to_string();
    spdlog::info("airplay: paired with the device at {}", address_);
}

asio::awaitable<void> AirPlayPairingHandler::close() {
    ++attempt_;
    release();
    co_return;
}

// Closing the connection is all it takes: a receiver forgets an unfinished pair-setup with it.
void AirPlayPairingHandler::release() {
    setup_.reset();
    m2_.clear();
    pin_entered_ = false;
    if (auto client = std::move(client_)) client->close();
}

std::string AirPlayPairingHandler::credentials() const {
    if (!credentials_) {
        throw Error(ErrorKind::invalid_state, "no credentials: pairing has not completed");
    }
    return *credentials_;
}

}  // namespace atv::airplay
