// An MRP channel over TCP: framed ProtocolMessages in both directions, requests matched to
// their replies, optional encryption after pair-verify, heartbeats and loss detection.
// Everything runs on the executor it was created with; nothing here blocks.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mrp/framing.hpp"
#include "mrp/messages.hpp"
#include "support/bytes.hpp"

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
inline constexpr std::chrono::seconds default_heartbeat_interval{30};

// Enables TCP keepalive (idle 1 s, interval 5 s, 4 probes) so a vanished peer is noticed.
void enable_keepalive(asio::ip::tcp::socket& socket);

// Connects to address:port within `timeout`. Throws atv::Error(connection_failed) when the
// connection is refused or unreachable and atv::Error(timeout) when the deadline passes.
asio::awaitable<asio::ip::tcp::socket> connect_tcp(asio::any_io_executor executor,
                                                   const std::string& address, std::uint16_t port,
                                                   std::chrono::milliseconds timeout);

class MrpChannel : public std::enable_shared_from_this<MrpChannel> {
  public:
    using LostHandler = std::function<void(const std::string& reason)>;
    using MessageHandler = std::function<void(const ProtocolMessage&)>;

    // Takes a connected socket; call start() to begin reading. Without `framing`, messages
    // travel in MRP's varint frames.
    static std::shared_ptr<MrpChannel> create(asio::ip::tcp::socket socket,
                                              std::unique_ptr<MessageFraming> framing = nullptr);

    MrpChannel(const MrpChannel&) = delete;
    MrpChannel& operator=(const MrpChannel&) = delete;
    ~MrpChannel();

    void start();
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

    // Called once, posted to the executor, when the peer drops, stops answering or sends
    // garbage. Never after close() has begun.
    // A handler set after the loss is still called (once).
    void on_lost(LostHandler handler);
    // Messages nobody waits for.
    void on_message(MessageHandler handler) { message_handler_ = std::move(handler); }

    // Closes the socket and returns once every coroutine of the channel has finished.
    asio::awaitable<void> close();
    // close() without waiting, for destructors: the coroutines wind down on their own.
    void abort();

    // Processes bytes as if they had been read from the socket: frames are decrypted, parsed
    // and dispatched. The read loop uses it; fuzzing calls it directly.
    void feed(ByteView bytes);

    [[nodiscard]] bool is_open() const { return !closing_ && !lost_; }
    [[nodiscard]] asio::any_io_executor executor() { return socket_.get_executor(); }

  private:
    struct Waiter;
    class WaiterRegistration;

    MrpChannel(asio::ip::tcp::socket socket, std::unique_ptr<MessageFraming> framing);

    template <typename Body>
    void spawn(Body body);
    void task_finished();

    asio::awaitable<void> read_loop();
    asio::awaitable<void> write_loop();
    asio::awaitable<void> heartbeat_loop(std::chrono::milliseconds interval,
                                         std::chrono::milliseconds timeout);
    void queue(Bytes wire);
    void handle_frame(ByteView frame);
    void handle_message(ByteView plaintext);
    void dispatch(ProtocolMessage message);
    void fail(const std::string& reason);
    void report_lost();
    void wake_waiters(const std::string& reason);

    asio::ip::tcp::socket socket_;
    FrameReader reader_;
    std::unique_ptr<MessageFraming> framing_;
    std::unique_ptr<MessageCipher> cipher_;
    std::deque<Bytes> outbox_;
    bool writing_ = false;
    std::list<Waiter*> waiters_;
    asio::steady_timer heartbeat_timer_;
    asio::steady_timer tasks_done_;
    int active_tasks_ = 0;
    bool started_ = false;
    bool closing_ = false;
    bool lost_ = false;
    std::string lost_reason_;
    LostHandler lost_handler_;
    MessageHandler message_handler_;
};

}  // namespace atv::mrp
