// What MRP's and Companion's channels share: one TCP connection whose bytes a subclass frames, a
// write queue that sends whatever was queued meanwhile in one gathered write, requests awaiting
// their replies with a deadline, a loss reported once, and a close() that returns once every
// coroutine of the channel has finished. Everything runs on the socket's executor; nothing
// blocks.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "support/bytes.hpp"
#include "support/loss_report.hpp"

namespace atv {

// "1.5 s": durations in error messages.
std::string seconds_text(std::chrono::milliseconds duration);

class StreamChannel : public std::enable_shared_from_this<StreamChannel> {
  public:
    using LostHandler = LossReport::Handler;

    StreamChannel(const StreamChannel&) = delete;
    StreamChannel& operator=(const StreamChannel&) = delete;
    virtual ~StreamChannel();

    // Starts reading from the socket.
    void start();
    // Called once, posted to the executor, when the peer drops, stops answering or sends
    // garbage; never after close() has begun. A handler set after the loss is still called.
    void on_lost(LostHandler handler);
    // Closes the socket and returns once every coroutine of the channel has finished.
    asio::awaitable<void> close();
    // close() without waiting, for destructors: the coroutines wind down on their own.
    void abort();
    // Processes bytes as if they had been read from the socket: the read loop uses it, and
    // fuzzing calls it directly.
    void feed(ByteView bytes);

    [[nodiscard]] bool is_open() const { return !loss_.ended(); }
    [[nodiscard]] asio::any_io_executor executor() { return socket_.get_executor(); }

  protected:
    // One request waiting for its reply, in the frame of the waiting coroutine. Subclasses add
    // what a reply is matched by and the reply itself.
    struct Waiter {
        explicit Waiter(asio::any_io_executor executor) : signal(std::move(executor)) {}
        Waiter(const Waiter&) = delete;
        Waiter& operator=(const Waiter&) = delete;
        virtual ~Waiter() = default;

        [[nodiscard]] bool done() const { return answered || failure.has_value(); }

        asio::steady_timer signal;  // cancelled when the reply or a failure arrives
        bool answered = false;
        std::optional<std::string> failure;
    };

    // protocol names the channel in errors ("the MRP connection ...") and, lower-cased, in logs.
    StreamChannel(asio::ip::tcp::socket socket, std::string protocol);

    // Frames bytes from the peer and handles every complete message. Throws atv::Error on
    // input that cannot be framed; the channel is then lost.
    virtual void consume(ByteView bytes) = 0;
    // The channel is closing or lost: stop what the subclass runs besides reading and writing.
    virtual void stopping() {}

    // Throws atv::Error(connection_lost) once the channel is closed or lost.
    void ensure_open() const;
    // Queues bytes to send; they leave in the order queued.
    void queue(Bytes wire);
    // Runs a coroutine of the channel; close() waits for it. One that throws loses the channel.
    void spawn(std::function<asio::awaitable<void>()> body);
    // Loses the channel: closes the socket, fails every waiter and reports the loss once.
    void fail(const std::string& reason);

    // Lists the waiter, calls send, and waits until reply_arrived() or a failure. Throws
    // atv::Error(timeout) after `timeout` and atv::Error(connection_failed) when the channel is
    // lost or closed meanwhile; `what` names the reply in those errors.
    asio::awaitable<void> send_and_wait(Waiter& waiter, std::function<void()> send,
                                        std::chrono::milliseconds timeout, std::string what);
    // The first waiter of type W (a channel may wait for several kinds of reply) not yet done
    // for which match(W&) holds.
    template <typename W, typename Match>
    W* waiting(Match match) {
        for (Waiter* waiter : waiters_) {
            auto* own = dynamic_cast<W*>(waiter);
            if (own != nullptr && !own->done() && match(*own)) {
                return own;
            }
        }
        return nullptr;
    }
    // Wakes a waiter whose reply the subclass has stored in it.
    static void reply_arrived(Waiter& waiter);

    [[nodiscard]] const std::string& log_name() const { return log_name_; }

  private:
    class Listing;

    asio::awaitable<void> read_loop();
    asio::awaitable<void> write_loop();
    void task_finished();
    void wake_waiters(const std::string& reason);

    asio::ip::tcp::socket socket_;
    std::string protocol_;
    std::string log_name_;
    std::deque<Bytes> outbox_;
    bool writing_ = false;
    std::list<Waiter*> waiters_;
    asio::steady_timer tasks_done_;  // never expires: task_finished() cancels the waits on it
    int active_tasks_ = 0;
    bool started_ = false;
    LossReport loss_;
};

}  // namespace atv
