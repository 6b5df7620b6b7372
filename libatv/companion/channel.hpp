// A Companion link over TCP: frames in both directions, pairing replies matched by frame type,
// OPACK requests matched to replies by transaction id, encryption after pair-verify and loss
// detection. Everything runs on the socket's executor; nothing blocks.
#pragma once
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

#include "companion/frames.hpp"
#include "companion/opack.hpp"
#include "hap/session.hpp"
#include "support/bytes.hpp"

namespace atv::companion {

inline constexpr std::chrono::milliseconds default_request_timeout{5000};

// Message kinds of the E_OPACK envelope (`_t`).
enum class MessageKind : std::int64_t { event = 1, request = 2, response = 3 };

// Connects to address:port within `timeout`; errors as mrp::connect_tcp, naming Companion.
asio::awaitable<asio::ip::tcp::socket> connect_companion_tcp(asio::any_io_executor executor,
                                                             const std::string& address,
                                                             std::uint16_t port,
                                                             std::chrono::milliseconds timeout);

class CompanionChannel : public std::enable_shared_from_this<CompanionChannel> {
  public:
    using LostHandler = std::function<void(const std::string& reason)>;
    using EventHandler = std::function<void(const OpackValue& message)>;

    static std::shared_ptr<CompanionChannel> create(asio::ip::tcp::socket socket);
    CompanionChannel(const CompanionChannel&) = delete;
    CompanionChannel& operator=(const CompanionChannel&) = delete;
    ~CompanionChannel();

    void start();
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
    // Sends an E_OPACK event {_i, _t: 1, _c}.
    void send_event(std::string identifier, OpackValue content);

    void enable_encryption(const hap::SessionKeys& keys);
    [[nodiscard]] bool encrypted() const { return cipher_.has_value(); }

    // Called once, posted, when the peer drops or sends garbage; never after close() began.
    void on_lost(LostHandler handler);
    // E_OPACK events and requests from the device.
    void on_event(EventHandler handler) { event_handler_ = std::move(handler); }

    // Closes the socket and returns once every coroutine of the channel has finished.
    asio::awaitable<void> close();
    // close() without waiting, for destructors.
    void abort();
    // Processes bytes as if read from the socket (the read loop and fuzzing use it).
    void feed(ByteView bytes);
    [[nodiscard]] bool is_open() const { return !closing_ && !lost_; }

  private:
    struct Waiter;
    class WaiterRegistration;

    explicit CompanionChannel(asio::ip::tcp::socket socket);
    template <typename Body>
    void spawn(Body body);
    void task_finished();
    asio::awaitable<void> read_loop();
    asio::awaitable<void> write_loop();
    // Sends a request and returns the whole reply, `_em` or not.
    asio::awaitable<OpackValue> exchange_opack(const std::string& identifier, OpackValue content,
                                               std::chrono::milliseconds timeout);
    asio::awaitable<void> wait(Waiter& waiter, std::chrono::milliseconds timeout,
                               const std::string& what);
    void handle_frame(FrameReader::Complete complete);
    void dispatch_opack(OpackValue message);
    void fail(const std::string& reason);
    void report_lost();
    void wake_waiters(const std::string& reason);

    asio::ip::tcp::socket socket_;
    FrameReader reader_;
    std::optional<hap::CompanionCipher> cipher_;
    std::deque<Bytes> outbox_;
    bool writing_ = false;
    std::list<Waiter*> waiters_;
    asio::steady_timer tasks_done_;
    int active_tasks_ = 0;
    bool started_ = false;
    bool closing_ = false;
    bool lost_ = false;
    std::string lost_reason_;
    std::int64_t next_transaction_;
    LostHandler lost_handler_;
    EventHandler event_handler_;
};

}  // namespace atv::companion
