#include "companion/pairing.hpp"

#include "atv/error.hpp"
#include "support/tcp.hpp"

namespace atv::companion {

CompanionPairingHandler::CompanionPairingHandler(asio::any_io_executor executor,
                                                 std::string address, std::uint16_t port,
                                                 hap::ClientIdentity identity,
                                                 const PairingOptions& options)
    : HapPinOnScreenPairing(std::move(address), "Companion with the Apple TV", std::move(identity),
                            options.name),
      executor_(std::move(executor)),
      port_(port) {}

CompanionPairingHandler::~CompanionPairingHandler() {
    if (channel_) {
        channel_->abort();
    }
}

asio::awaitable<void> CompanionPairingHandler::connect() {
    auto socket =
        co_await connect_tcp(executor_, address(), port_, step_timeout(), "the Companion service");
    channel_ = CompanionChannel::create(std::move(socket));
    channel_->start();
    setup_exchange_.emplace(*channel_, AuthExchange::setup, step_timeout());
}

// The exchanger numbers its frames itself: its first is PS_Start.
asio::awaitable<Bytes> CompanionPairingHandler::exchange(Bytes message, bool /*first*/) {
    if (!channel_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed");
    }
    const std::shared_ptr<CompanionChannel> channel = channel_;  // outlives a close() meanwhile
    auto exchanging = (*setup_exchange_)(std::move(message));
    co_return co_await std::move(exchanging);
}

asio::awaitable<void> CompanionPairingHandler::verify(const hap::HapCredentials& credentials) {
    if (!channel_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed");
    }
    const std::shared_ptr<CompanionChannel> channel = channel_;
    co_await verify_and_encrypt(*channel, credentials, step_timeout());
}

asio::awaitable<void> CompanionPairingHandler::close_connection() {
    setup_exchange_.reset();
    if (auto channel = std::move(channel_)) {
        co_await channel->close();
    }
}

}  // namespace atv::companion
