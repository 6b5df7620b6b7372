#include "mrp/connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "atv/error.hpp"
#include "hap/pair_verify.hpp"
#include "mrp/handshake.hpp"
#include "support/tcp.hpp"

namespace atv::mrp {

namespace {

// Pair-verify with the stored credentials. Anything but a timeout or a broken connection
// means the credentials are no good, and the only fix is pairing again.
asio::awaitable<void> verify_credentials(MrpChannel& channel,
                                         const hap::HapCredentials& credentials,
                                         std::chrono::milliseconds timeout) {
    try {
        hap::PairVerifyController verify(credentials);
        const Bytes m2 = co_await exchange_pairing_data(channel, verify.m1(), false, timeout);
        const Bytes m4 = co_await exchange_pairing_data(channel, verify.m3(m2), false, timeout);
        verify.finish(m4);
        channel.enable_encryption(client_session_cipher(verify.shared_secret().view()));
    } catch (const Error& error) {
        // A device that asks to be left alone for a while has not rejected the credentials.
        if (error.kind() == ErrorKind::timeout || error.kind() == ErrorKind::connection_failed ||
            error.kind() == ErrorKind::back_off) {
            throw;
        }
        const std::string reason = error.what();
        throw Error(ErrorKind::authentication_failed,
                    reason.find("pair again") != std::string::npos
                        ? reason
                        : "the Apple TV did not accept the stored credentials (" + reason +
                              "); pair again");
    }
}

asio::awaitable<void> run_connect_sequence(MrpChannel& channel,
                                           const hap::HapCredentials& credentials,
                                           std::chrono::milliseconds timeout,
                                           const MrpConnectOptions& options) {
    ClientDescription client{to_string(credentials.client_id), options.client_name};
    co_await exchange_device_information(channel, client, timeout);
    co_await verify_credentials(channel, credentials, timeout);
    co_await start_session(channel, timeout);
}

}  // namespace

asio::awaitable<void> start_session(MrpChannel& channel, std::chrono::milliseconds timeout) {
    channel.send(set_connection_state(proto::SetConnectionStateMessage::Connected));
    co_await channel.request(client_updates_config(), timeout);
    co_await channel.request(get_keyboard_session(), timeout);
}

MrpConnection::MrpConnection(std::shared_ptr<MrpChannel> channel,
                             std::unique_ptr<MrpControl> control)
    : channel_(std::move(channel)),
      control_(control ? std::move(control) : std::make_unique<MrpControl>(channel_)) {}

MrpConnection::~MrpConnection() {
    channel_->abort();
}

asio::awaitable<void> MrpConnection::close() {
    co_await channel_->close();
}

void MrpConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    channel_->on_lost(std::move(callback));
}

asio::awaitable<std::unique_ptr<MrpConnection>> connect_mrp(asio::any_io_executor executor,
                                                            std::string address, std::uint16_t port,
                                                            const hap::HapCredentials& credentials,
                                                            std::chrono::milliseconds timeout,
                                                            MrpConnectOptions options) {
    auto socket = co_await connect_tcp(executor, address, port, timeout, "the MRP service");
    auto channel = MrpChannel::create(std::move(socket));
    // Listening from the start: the device sends what plays as soon as the client subscribes.
    auto control = std::make_unique<MrpControl>(channel);
    channel->start();
    // Each exchange gets the usual 5 s at most, however long the caller is willing to wait.
    const auto step_timeout = std::min(timeout, default_request_timeout);
    std::exception_ptr failure;
    try {
        co_await run_connect_sequence(*channel, credentials, step_timeout, options);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        co_await channel->close();
        std::rethrow_exception(failure);
    }
    channel->start_heartbeat(options.heartbeat_interval, step_timeout);
    spdlog::info("mrp: connected to {}:{}", address, port);
    co_return std::make_unique<MrpConnection>(std::move(channel), std::move(control));
}

asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_mrp(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout) {
    // A named object, not a temporary: GCC 12 destroys a temporary argument of a co_await
    // twice (the integration tests crash with MrpConnectOptions{} here).
    const MrpConnectOptions options;
    co_return co_await connect_mrp(std::move(executor), std::move(address), port, credentials,
                                   timeout, options);
}

}  // namespace atv::mrp
