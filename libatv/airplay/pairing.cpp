#include "airplay/pairing.hpp"

#include "airplay/auth.hpp"
#include "atv/error.hpp"

namespace atv::airplay {

AirPlayPairingHandler::AirPlayPairingHandler(asio::any_io_executor executor, std::string address,
                                             std::uint16_t port, hap::ClientIdentity identity,
                                             const PairingOptions& options)
    : HapPinOnScreenPairing(std::move(address), "AirPlay with the device", std::move(identity),
                            options.name),
      executor_(std::move(executor)),
      port_(port) {}

AirPlayPairingHandler::~AirPlayPairingHandler() = default;

std::shared_ptr<HttpClient> AirPlayPairingHandler::client() const {
    if (!client_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed");
    }
    return client_;
}

asio::awaitable<void> AirPlayPairingHandler::connect() {
    client_ = co_await HttpClient::connect(executor_, address(), port_, step_timeout());
}

asio::awaitable<void> AirPlayPairingHandler::request_pin() {
    const std::shared_ptr<HttpClient> client = this->client();
    auto pin_start = post_tlv(*client, "/pair-pin-start", {}, step_timeout());
    co_await std::move(pin_start);
    co_await HapPinOnScreenPairing::request_pin();
}

asio::awaitable<Bytes> AirPlayPairingHandler::exchange(Bytes message, bool /*first*/) {
    const std::shared_ptr<HttpClient> client = this->client();
    auto posting = post_tlv(*client, "/pair-setup", std::move(message), step_timeout());
    co_return co_await std::move(posting);
}

asio::awaitable<void> AirPlayPairingHandler::verify(const hap::HapCredentials& credentials) {
    const std::shared_ptr<HttpClient> client = this->client();
    auto verifying = verify_and_encrypt(*client, credentials, step_timeout());
    (void)co_await std::move(verifying);
}

asio::awaitable<void> AirPlayPairingHandler::close_connection() {
    if (auto client = std::move(client_)) {
        client->close();
    }
    co_return;
}

}  // namespace atv::airplay
