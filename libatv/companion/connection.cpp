#include "companion/connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "atv/error.hpp"
#include "companion/auth.hpp"

namespace atv::companion {

namespace {

std::uint32_t random_u32() {
    const Bytes random = random_bytes(4);
    return (std::uint32_t{random[0]} << 24) | (std::uint32_t{random[1]} << 16) |
           (std::uint32_t{random[2]} << 8) | random[3];
}

OpackValue system_info(const hap::HapCredentials& credentials,
                       const CompanionConnectOptions& options) {
    const std::string remote_id =
        options.remote_id.empty() ? to_hex(random_bytes(6)) : options.remote_id;
    return OpackDict{
        {"_bf", 0},
        {"_cf", 512},
        {"_clFl", 128},
        {"_i", remote_id},
        {"_idsID", credentials.client_id},
        {"_pubID", to_string(credentials.client_id)},
        {"_sf", 256},
        {"_sv", "170.18"},
        {"model", options.model},
        {"name", options.client_name},
    };
}

// Built outside coroutines: GCC 12 rejects braced lists of literals inside them.
OpackValue session_start(std::uint32_t local_session) {
    return OpackDict{{"_srvT", "com.apple.tvremoteservices"}, {"_sid", local_session}};
}

OpackValue interest() {
    return OpackDict{{"_regEvents", OpackArray{"_iMC"}}};
}

// The introduction a remote gives after verify; returns the combined session id.
asio::awaitable<std::uint64_t> introduce(CompanionChannel& channel,
                                         const hap::HapCredentials& credentials,
                                         const CompanionConnectOptions& options,
                                         std::chrono::milliseconds timeout) {
    co_await channel.request(std::string("_systemInfo"), system_info(credentials, options),
                             timeout);
    const std::uint32_t local_session = random_u32();
    const OpackValue reply = co_await channel.request(std::string("_sessionStart"),
                                                      session_start(local_session), timeout);
    const auto remote_session = reply.int_at("_sid");
    if (!remote_session) {
        throw Error(ErrorKind::connection_failed,
                    "the device started a Companion session without a session id");
    }
    channel.send_event("_interest", interest());
    co_return (static_cast<std::uint64_t>(*remote_session) << 32) | local_session;
}

}  // namespace

CompanionConnection::~CompanionConnection() {
    channel_->abort();
}

asio::awaitable<void> CompanionConnection::close() {
    auto channel = channel_;
    co_await channel->close();
}

void CompanionConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    channel_->on_lost(std::move(callback));
}

asio::awaitable<std::unique_ptr<CompanionConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout,
    CompanionConnectOptions options) {
    const auto step_timeout = std::min(timeout, default_request_timeout);
    auto socket = co_await connect_companion_tcp(executor, address, port, timeout);
    auto channel = CompanionChannel::create(std::move(socket));
    channel->start();
    std::exception_ptr failure;
    std::uint64_t session_id = 0;
    try {
        co_await verify_and_encrypt(*channel, credentials, step_timeout);
        session_id = co_await introduce(*channel, credentials, options, step_timeout);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        co_await channel->close();
        std::rethrow_exception(failure);
    }
    spdlog::info("companion: connected to {}:{}", address, port);
    co_return std::make_unique<CompanionConnection>(std::move(channel), session_id);
}

asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout) {
    // Named, not temporaries in the co_await: GCC 12 destroys such temporaries twice when the
    // awaited coroutine throws.
    CompanionConnectOptions options;
    auto connecting = connect_companion(std::move(executor), std::move(address), port, credentials,
                                        timeout, std::move(options));
    auto connection = co_await std::move(connecting);
    co_return std::unique_ptr<atv::ProtocolConnection>(std::move(connection));
}

}  // namespace atv::companion
