#include "companion/connection.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <stdexcept>
#include <utility>

#include "atv/error.hpp"
#include "companion/auth.hpp"
#include "support/tcp.hpp"

namespace atv::companion {

namespace {

constexpr std::size_t remote_id_bytes = 6;
constexpr std::string_view remote_service = "com.apple.tvremoteservices";
constexpr std::string_view remote_control_version = "1.2";
constexpr double touch_area_size = 1000.0;

std::uint32_t random_u32() {
    const Bytes random = random_bytes(4);
    return (std::uint32_t{random[0]} << 24) | (std::uint32_t{random[1]} << 16) |
           (std::uint32_t{random[2]} << 8) | random[3];
}

// The message builders live outside coroutines: GCC 12 rejects braced lists of literals inside
// them.

OpackValue system_info(const hap::HapCredentials& credentials,
                       const CompanionConnectOptions& options) {
    return OpackDict{
        {"_bf", 0},
        {"_cf", 512},
        {"_clFl", 128},
        {"_i", options.remote_id},
        {"_idsID", credentials.client_id},
        {"_pubID", to_string(credentials.client_id)},
        {"_sf", 256},
        {"_sv", "170.18"},
        {"model", options.model},
        {"name", options.client_name},
    };
}

OpackValue touch_start() {
    return OpackDict{{"_height", touch_area_size}, {"_tFl", 0}, {"_width", touch_area_size}};
}

OpackValue session_start(std::uint32_t local_session) {
    return OpackDict{{"_srvT", std::string(remote_service)}, {"_sid", local_session}};
}

OpackValue session_stop(std::uint64_t session_id) {
    // The combined id fills 64 bits; OPACK carries it as the same eight bytes either way.
    return OpackDict{{"_srvT", std::string(remote_service)},
                     {"_sid", static_cast<std::int64_t>(session_id)}};
}

OpackValue touch_stop() {
    return OpackDict{{"_i", 1}};
}

OpackValue no_content() {
    return OpackDict{};
}

OpackValue remote_control_session_start() {
    return OpackDict{{"ProtocolVersionKey", std::string(remote_control_version)}};
}

OpackValue interest(const char* key, const std::string& event) {
    return OpackDict{{key, OpackArray{event}}};
}

std::optional<AttentionState> attention_state(const std::optional<OpackValue>& reply) {
    const auto state = reply ? reply->int_at("state") : std::nullopt;
    return state ? attention_state_from(*state) : std::nullopt;
}

// Keeps what the device pushes. Installed before verify: the first `_iMC` event follows the
// interest in it at once, while the introduction still runs. The control takes over from it.
void keep_pushed_state(CompanionChannel& channel,
                       const std::shared_ptr<CompanionPushedState>& pushed) {
    channel.on_event([pushed](const OpackValue& message) {
        if (!keep_pushed_event(message, *pushed)) {
            spdlog::debug("companion: ignoring the device's {}",
                          message.string_at("_i").value_or(""));
        }
    });
}

// Interest in one event, as a remote registers them: one _interest event each.
void register_interest(CompanionChannel& channel, CompanionSession& session,
                       const std::string& event) {
    channel.send_event("_interest", interest("_regEvents", event));
    session.events.push_back(event);
}

// The introduction a remote gives after verify (protocols.md §6.5), in its order. Requests are
// named locals: GCC 12 mishandles temporaries passed to a coroutine inside co_await.
// `text_input_started` turns true once _tiStart is out: from then on the device may hold a
// text-input session for us, which a failed introduction must end.
asio::awaitable<CompanionSession> introduce(CompanionChannel& channel,
                                            const hap::HapCredentials& credentials,
                                            const CompanionConnectOptions& options,
                                            std::chrono::milliseconds timeout,
                                            bool& text_input_started) {
    CompanionSession session;
    const OpackValue info = system_info(credentials, options);
    co_await channel.request("_systemInfo", info, timeout);
    const OpackValue touch = touch_start();
    co_await channel.request("_touchStart", touch, timeout);

    const std::uint32_t local_session = random_u32();
    const OpackValue start = session_start(local_session);
    const OpackValue started = co_await channel.request("_sessionStart", start, timeout);
    const auto remote_session = started.int_at("_sid");
    if (!remote_session) {
        throw Error(ErrorKind::connection_failed,
                    "the device started a Companion session without a session id");
    }
    session.id = (static_cast<std::uint64_t>(*remote_session) << 32) | local_session;

    // Newer tvOS answers power queries only in a TV remote session; older tvOS has no
    // handler for it, which is fine.
    const OpackValue remote_control = remote_control_session_start();
    co_await channel.try_request("TVRCSessionStart", remote_control, timeout);
    const OpackValue empty = no_content();
    // The reply describes the focused text field, if there is one.
    text_input_started = true;
    auto starting_text_input = channel.request("_tiStart", empty, timeout);
    const OpackValue text_input = co_await std::move(starting_text_input);
    session.text_focus = text_focus_of(&text_input);
    register_interest(channel, session, "_iMC");

    // Power: the state now, then its changes. Newer tvOS may lack the handler for the query.
    const auto attention = co_await channel.try_request("FetchAttentionState", empty, timeout);
    session.attention = attention_state(attention);
    register_interest(channel, session, "SystemStatus");
    register_interest(channel, session, "TVSystemStatus");
    co_return session;
}

}  // namespace

std::string remote_id_for(std::string_view client_id, ByteView seed) {
    // A keyed BLAKE2b of the client id under the seed: one way, and defined for any lengths.
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium could not be initialised");
    std::array<std::uint8_t, crypto_generichash_BYTES_MIN> digest{};
    if (crypto_generichash(digest.data(), digest.size(),
                           reinterpret_cast<const unsigned char*>(client_id.data()),
                           client_id.size(), seed.data(), seed.size()) != 0) {
        throw Error(ErrorKind::invalid_arguments, "the identity's seed is too long");
    }
    return to_hex(ByteView(digest.data(), remote_id_bytes));
}

CompanionConnection::CompanionConnection(std::shared_ptr<CompanionChannel> channel,
                                         CompanionSession session,
                                         std::shared_ptr<CompanionPushedState> pushed,
                                         std::chrono::milliseconds session_stop_timeout,
                                         CompanionControlOptions control_options)
    : channel_(std::move(channel)),
      session_(std::move(session)),
      pushed_(pushed),
      session_stop_timeout_(session_stop_timeout),
      control_(std::make_unique<CompanionControl>(channel_, std::move(pushed), session_.attention,
                                                  control_options)) {}

CompanionConnection::~CompanionConnection() {
    control_.reset();
    channel_->abort();
}

asio::awaitable<void> CompanionConnection::close() {
    auto channel = channel_;
    if (!stopping_ && channel->is_open()) {
        stopping_ = true;
        try {
            co_await stop_session(*channel);
        } catch (const Error& error) {
            // The socket closes below either way; a device that stalls or left changes nothing.
            spdlog::debug("companion: stopping the session: {}", error.what());
        }
    }
    co_await channel->close();
}

// Undoes the introduction as a remote does: the interests, the session, touch and text input.
// The three answers share one wait, so a stalling device holds close() back once at most.
asio::awaitable<void> CompanionConnection::stop_session(CompanionChannel& channel) {
    for (const std::string& event : session_.events)
        channel.send_event("_interest", interest("_deregEvents", event));
    const auto deadline = std::chrono::steady_clock::now() + session_stop_timeout_;
    const std::array<std::pair<std::string, OpackValue>, 3> requests{{
        {"_sessionStop", session_stop(session_.id)},
        {"_touchStop", touch_stop()},
        {"_tiStop", no_content()},
    }};
    for (const auto& [identifier, content] : requests) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds::zero())
            co_return;
        auto requesting = channel.try_request(identifier, content, left);
        co_await std::move(requesting);
    }
}

void CompanionConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    channel_->on_lost(std::move(callback));
}

asio::awaitable<std::unique_ptr<CompanionConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout,
    CompanionConnectOptions options) {
    if (options.remote_id.empty()) {
        throw Error(ErrorKind::invalid_arguments,
                    "a Companion connection needs the installation's remote id");
    }
    const auto step_timeout = std::min(timeout, default_request_timeout);
    auto socket = co_await connect_tcp(executor, address, port, timeout, "the Companion service");
    auto channel = CompanionChannel::create(std::move(socket));
    const auto pushed = std::make_shared<CompanionPushedState>();
    keep_pushed_state(*channel, pushed);
    channel->start();
    std::exception_ptr failure;
    CompanionSession session;
    bool text_input = false;
    try {
        co_await verify_and_encrypt(*channel, credentials, step_timeout);
        session = co_await introduce(*channel, credentials, options, step_timeout, text_input);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        // A device keeps one text-input session and may leave the next client's _tiStart
        // unanswered: end ours even though the connection failed, waiting boundedly.
        if (text_input && channel->is_open()) {
            const std::string stop = "_tiStop";
            const OpackValue nothing = no_content();
            try {
                auto stopping = channel->try_request(
                    stop, nothing, std::min(step_timeout, options.session_stop_timeout));
                co_await std::move(stopping);
            } catch (const Error& error) {
                spdlog::debug("companion: ending text input after a failed connect: {}",
                              error.what());
            }
        }
        co_await channel->close();
        std::rethrow_exception(failure);
    }
    // A `_tiStarted` or `_tiStopped` pushed since the reply is newer.
    if (pushed->text_focus == FocusState::unknown)
        pushed->text_focus = session.text_focus;
    spdlog::info("companion: connected to {}:{}", address, port);
    co_return std::make_unique<CompanionConnection>(std::move(channel), std::move(session), pushed,
                                                    options.session_stop_timeout, options.control);
}

asio::awaitable<std::unique_ptr<atv::ProtocolConnection>> connect_companion(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    const hap::HapCredentials& credentials, std::chrono::milliseconds timeout,
    std::string remote_id) {
    // Named, not temporaries in the co_await: GCC 12 destroys such temporaries twice when the
    // awaited coroutine throws.
    CompanionConnectOptions options;
    options.remote_id = std::move(remote_id);
    auto connecting = connect_companion(std::move(executor), std::move(address), port, credentials,
                                        timeout, std::move(options));
    auto connection = co_await std::move(connecting);
    co_return std::unique_ptr<atv::ProtocolConnection>(std::move(connection));
}

}  // namespace atv::companion
