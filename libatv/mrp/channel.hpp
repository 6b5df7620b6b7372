// An MRP channel over TCP: framed ProtocolMessages in both directions, requests matched to
// their replies, optional encryption after pair-verify, heartbeats and loss detection (the
// connection itself is a StreamChannel's).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mrp/framing.hpp"
#include "mrp/messages.hpp"
#include "support/bytes.hpp"
#include "support/stream_channel.hpp"

namespace atv::mrp {

// Seals outgoing and opens incoming payloads once a session key exists. Each direction keeps
// its own counter, so calls must follow the order of the bytes on the wire.
class MessageCipher {
  public:
    virtual ~MessageCipher() = default;
    virtual Bytes seal(ByteView plaintext) = 0;
    // nullopt when the payload fails authentication.
    virtual std::optional<Bytes> open(ByteView ciphertext) = 0;
};

// How messages travel when not in MRP's own varint frames, e.g. inside AirPlay 2's data channel.
// Owns whatever encryption that transport has; the channel's MessageCipher is not used with it.
class MessageFraming {
  public:
    virtual ~MessageFraming() = default;
    // The bytes that carry one serialized ProtocolMessage.
    virtual Bytes frame(ByteView message) = 0;
    // Bytes from the socket in; every complete ProtocolMessage appended to `messages`, and
    // whatever the framing itself must answer (acknowledgements) appended to `reply`. Throws
    // atv::Error(connection_failed) on malformed input.
    virtual void unframe(ByteView bytes, std::vector<Bytes>& messages, Bytes& reply) = 0;
};

inline constexpr std::chrono::milliseconds default_request_timeout{5000};
// Beats come more often than pyatv's 30 s so that a silent peer is noticed within 25 s even
// where TCP keepalive cannot help (a heartbeat in flight suspends keepalive, and probes that
// fail locally, as on a host whose own link is down, never count): the first beat comes at
// most 1.5 intervals after connecting, later ones one interval apart, and two unanswered
// beats of default_request_timeout each end the connection.
inline constexpr std::chrono::seconds default_heartbeat_interval{10};
static_assert(default_heartbeat_interval * 3 / 2 + 2 * default_request_timeout <=
              std::chrono::seconds(25));

class MrpChannel : public StreamChannel {
  public:
    using MessageHandler = std::function<void(const ProtocolMessage&)>;
    using MessagesReadHandler = std::function<void()>;

    // Takes a connected socket; call start() to begin reading. Without `framing`, messages
    // travel in MRP's varint frames.
    static std::shared_ptr<MrpChannel> create(asio::ip::tcp::socket socket,
                                              std::unique_ptr<MessageFraming> framing = nullptr);

    // Queues one message; messages leave in the order they were sent.
    void send(const ProtocolMessage& message);
    // Sends and waits for the reply: the message with the same identifier, or for messages
    // without one (crypto pairing) the next message of the same type. Throws
    // atv::Error(timeout) after `timeout`, atv::Error(connection_failed) when the channel
    // goes away meanwhile.
    asio::awaitable<ProtocolMessage> request(
        ProtocolMessage message, std::chrono::milliseconds timeout = default_request_timeout);

    // From now on every payload in both directions goes through the cipher.
    void enable_encryption(std::unique_ptr<MessageCipher> cipher);
    [[nodiscard]] bool encrypted() const { return cipher_ != nullptr; }

    // A GENERIC_MESSAGE request every `interval`, one retry; no answer means the channel is lost.
    void start_heartbeat(std::chrono::milliseconds interval = default_heartbeat_interval,
                         std::chrono::milliseconds timeout = default_request_timeout);

    // Messages nobody waits for.
    void on_message(MessageHandler handler) { message_handler_ = std::move(handler); }
    // Called once every message of one read from the socket has gone to on_message: where a
    // burst the device sent together can be taken as one update.
    void on_messages_read(MessagesReadHandler handler) {
        messages_read_handler_ = std::move(handler);
    }

  private:
    struct MessageWaiter;

    MrpChannel(asio::ip::tcp::socket socket, std::unique_ptr<MessageFraming> framing);

    void consume(ByteView bytes) override;
    void consume_messages(ByteView bytes);
    void stopping() override;
    asio::awaitable<void> heartbeat_loop(std::chrono::milliseconds interval,
                                         std::chrono::milliseconds timeout);
    void handle_frame(ByteView frame);
    void handle_message(ByteView plaintext);
    void dispatch(const ProtocolMessage& message);

    FrameReader reader_;
    std::unique_ptr<MessageFraming> framing_;
    std::unique_ptr<MessageCipher> cipher_;
    asio::steady_timer heartbeat_timer_;
    MessageHandler message_handler_;
    MessagesReadHandler messages_read_handler_;
};

}  // namespace atv::mrp
