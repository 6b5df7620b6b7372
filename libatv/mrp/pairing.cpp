#include "mrp/pairing.hpp"

#include "atv/error.hpp"
#include "mrp/handshake.hpp"
#include "support/tcp.hpp"

namespace atv::mrp {

// MRP sends no display name in pair-setup; the name travels in DEVICE_INFO.
MrpPairingHandler::MrpPairingHandler(asio::any_io_executor executor, std::string address,
                                     std::uint16_t port, hap::ClientIdentity identity,
                                     PairingOptions options)
    : HapPinOnScreenPairing(std::move(address), "MRP with the Apple TV", std::move(identity),
                            std::nullopt),
      executor_(std::move(executor)),
      port_(port),
      options_(std::move(options)) {}

MrpPairingHandler::~MrpPairingHandler() {
    if (channel_) {
        channel_->abort();
    }
}

asio::awaitable<void> MrpPairingHandler::connect() {
    auto socket =
        co_await connect_tcp(executor_, address(), port_, step_timeout(), "the MRP service");
    channel_ = MrpChannel::create(std::move(socket));
    channel_->start();
}

asio::awaitable<void> MrpPairingHandler::request_pin() {
    const ClientDescription client{identity().client_id, options_.name};
    co_await exchange_device_information(*channel_, client, step_timeout());
    co_await HapPinOnScreenPairing::request_pin();
}

asio::awaitable<Bytes> MrpPairingHandler::exchange(Bytes message, bool first) {
    if (!channel_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed");
    }
    const std::shared_ptr<MrpChannel> channel = channel_;
    auto exchanging = exchange_pairing_data(*channel, message, first, step_timeout());
    co_return co_await std::move(exchanging);
}

asio::awaitable<void> MrpPairingHandler::close_connection() {
    if (auto channel = std::move(channel_)) {
        co_await channel->close();
    }
}

}  // namespace atv::mrp
