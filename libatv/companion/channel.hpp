// A Companion link over TCP: frames in both directions, pairing replies matched by frame type,
// OPACK requests matched to replies by transaction id, encryption after pair-verify and loss
// detection (the connection itself is a StreamChannel's). Every message it sends, events and
// auth frames included, takes its transaction id (`_x`) from one counter of the connection: a
// device reads `_x` from every message and drops one without it.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "companion/frames.hpp"
#include "companion/opack.hpp"
#include "hap/session.hpp"
#include "support/bytes.hpp"
#include "support/stream_channel.hpp"

namespace atv::companion {

inline constexpr std::chrono::milliseconds default_request_timeout{5000};

// Message kinds of the E_OPACK envelope (`_t`).
enum class MessageKind : std::int64_t { event = 1, request = 2, response = 3 };

class CompanionChannel : public StreamChannel {
  public:
    using EventHandler = std::function<void(const OpackValue& message)>;

    // Takes a connected socket; call start() to begin reading.
    static std::shared_ptr<CompanionChannel> create(asio::ip::tcp::socket socket);

    // Queues one frame; the payload is encrypted when the session is and it is not empty.
    void send_frame(FrameType type, ByteView payload);
    // Sends an auth frame and returns the payload of the next frame of `reply_type`.
    asio::awaitable<Bytes> exchange(FrameType type, Bytes payload, FrameType reply_type,
                                    std::chrono::milliseconds timeout = default_request_timeout);
    // Sends an E_OPACK request {_i, _t: 2, _c, _x} and returns the reply's `_c`. Throws
    // atv::Error(connection_failed) when the reply carries `_em`, timeout after `timeout`.
    asio::awaitable<OpackValue> request(
        std::string identifier, OpackValue content,
        std::chrono::milliseconds timeout = default_request_timeout);
    // request() for the requests a device may lack a handler for: nullopt when the reply
    // carries `_em`; every other failure throws as request() does.
    asio::awaitable<std::optional<OpackValue>> try_request(
        std::string identifier, OpackValue content,
        std::chrono::milliseconds timeout = default_request_timeout);
    // Sends a request and returns the whole reply, `_em` or not, for callers that tell the
    // device's refusals apart from a broken link.
    asio::awaitable<OpackValue> exchange_opack(const std::string& identifier, OpackValue content,
                                               std::chrono::milliseconds timeout);
    // Sends an E_OPACK event {_i, _t: 1, _c, _x}.
    void send_event(const std::string& identifier, OpackValue content);
    // Takes the connection's next transaction id, for auth frames; E_OPACK messages take theirs
    // when they are sent.
    std::int64_t next_transaction_id();

    void enable_encryption(const hap::SessionKeys& keys);
    [[nodiscard]] bool encrypted() const { return cipher_.has_value(); }

    // E_OPACK events and requests from the device.
    void on_event(EventHandler handler) { event_handler_ = std::move(handler); }

  private:
    struct FrameWaiter;
    struct OpackWaiter;

    explicit CompanionChannel(asio::ip::tcp::socket socket);
    void consume(ByteView bytes) override;
    // Encodes and queues {_i, _t, _c, _x} with the next transaction id, which it returns. Every
    // E_OPACK message leaves through here, so none can lack `_x`.
    std::int64_t send_message(const std::string& identifier, MessageKind kind, OpackValue content);
    void handle_frame(FrameReader::Complete complete);
    void dispatch_opack(OpackValue message);

    FrameReader reader_;
    std::optional<hap::CompanionCipher> cipher_;
    std::int64_t next_transaction_;
    EventHandler event_handler_;
};

}  // namespace atv::companion
