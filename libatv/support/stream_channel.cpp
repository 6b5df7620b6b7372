#include "support/stream_channel.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <exception>
#include <vector>

#include "atv/error.hpp"

namespace atv {

namespace {

constexpr std::size_t read_chunk_size = 16 * 1024;

std::string lower_case(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

std::string seconds_text(std::chrono::milliseconds duration) {
    const auto tenths = duration.count() / 100;
    return std::to_string(tenths / 10) +
           (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : "") + " s";
}

// Keeps a waiter listed exactly as long as the waiting coroutine exists.
class StreamChannel::Listing {
  public:
    Listing(std::list<Waiter*>& list, Waiter& waiter)
        : list_(list), position_(list.insert(list.end(), &waiter)) {}
    Listing(const Listing&) = delete;
    Listing& operator=(const Listing&) = delete;
    ~Listing() { list_.erase(position_); }

  private:
    std::list<Waiter*>& list_;
    std::list<Waiter*>::iterator position_;
};

StreamChannel::StreamChannel(asio::ip::tcp::socket socket, std::string protocol)
    : socket_(std::move(socket)),
      protocol_(std::move(protocol)),
      log_name_(lower_case(protocol_)),
      tasks_done_(socket_.get_executor()),
      loss_(socket_.get_executor()) {
    tasks_done_.expires_at(asio::steady_timer::time_point::max());
}

StreamChannel::~StreamChannel() {
    std::error_code ignored;
    socket_.close(ignored);
}

void StreamChannel::spawn(std::function<asio::awaitable<void>()> body) {
    ++active_tasks_;
    asio::co_spawn(socket_.get_executor(), std::move(body),
                   [self = shared_from_this()](std::exception_ptr error) {
                       if (error) {
                           try {
                               std::rethrow_exception(error);
                           } catch (const std::exception& e) {
                               spdlog::warn("{}: channel task ended with an error: {}",
                                            self->log_name_, e.what());
                               self->fail(e.what());
                           }
                       }
                       self->task_finished();
                   });
}

void StreamChannel::task_finished() {
    if (--active_tasks_ == 0) {
        tasks_done_.cancel();
    }
}

void StreamChannel::start() {
    if (started_) {
        return;
    }
    started_ = true;
    spawn([self = shared_from_this()]() { return self->read_loop(); });
}

void StreamChannel::ensure_open() const {
    if (!is_open()) {
        throw Error(ErrorKind::connection_lost,
                    "the " + protocol_ + " connection is closed; connect to the device again");
    }
}

void StreamChannel::queue(Bytes wire) {
    outbox_.push_back(std::move(wire));
    if (!writing_) {
        writing_ = true;
        spawn([self = shared_from_this()]() { return self->write_loop(); });
    }
}

asio::awaitable<void> StreamChannel::send_and_wait(Waiter& waiter, std::function<void()> send,
                                                   std::chrono::milliseconds timeout,
                                                   std::string what) {
    auto self = shared_from_this();
    if (loss_.lost()) {
        throw Error(ErrorKind::connection_failed, loss_.reason());
    }
    const Listing listing(waiters_, waiter);
    send();
    waiter.signal.expires_after(timeout);
    std::error_code ec;
    co_await waiter.signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (waiter.answered) {
        co_return;
    }
    if (waiter.failure) {
        throw Error(ErrorKind::connection_failed, *waiter.failure);
    }
    if (ec) {
        throw Error(ErrorKind::connection_failed, "the wait for " + what + " was cancelled");
    }
    throw Error(ErrorKind::timeout,
                "the device did not answer " + what + " within " + seconds_text(timeout));
}

void StreamChannel::reply_arrived(Waiter& waiter) {
    waiter.answered = true;
    waiter.signal.cancel();
}

asio::awaitable<void> StreamChannel::read_loop() {
    std::array<std::uint8_t, read_chunk_size> chunk{};
    std::error_code ec;
    while (is_open()) {
        // A read, not a wait for readiness and then a read: waiting re-arms the socket in epoll
        // for writing too (connect registered that), and a connected socket is always
        // writable, so every message would cost an epoll_ctl and a wake-up for nothing.
        const std::size_t count = co_await socket_.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            break;
        }
        feed(ByteView(chunk.data(), count));
    }
    if (ec) {
        fail(ec == asio::error::eof ? "the device closed the " + protocol_ + " connection"
                                    : "the " + protocol_ + " connection broke: " + ec.message());
    }
}

void StreamChannel::feed(ByteView bytes) {
    try {
        consume(bytes);
    } catch (const Error& error) {
        fail(error.what());
    }
}

asio::awaitable<void> StreamChannel::write_loop() {
    // Everything queued while the previous write was in flight leaves in one gathered write.
    while (!outbox_.empty() && is_open()) {
        std::vector<Bytes> batch(std::make_move_iterator(outbox_.begin()),
                                 std::make_move_iterator(outbox_.end()));
        outbox_.clear();
        std::vector<asio::const_buffer> buffers;
        buffers.reserve(batch.size());
        for (const Bytes& frame : batch) {
            buffers.emplace_back(asio::buffer(frame));
        }
        std::error_code ec;
        co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            fail("sending to the device failed: " + ec.message());
        }
    }
    writing_ = false;
}

void StreamChannel::wake_waiters(const std::string& reason) {
    for (Waiter* waiter : waiters_) {
        if (!waiter->done()) {
            waiter->failure = reason;
            waiter->signal.cancel();
        }
    }
}

void StreamChannel::fail(const std::string& reason) {
    if (!loss_.lose(reason)) {
        return;
    }
    spdlog::info("{}: connection lost: {}", log_name_, reason);
    std::error_code ignored;
    socket_.close(ignored);
    stopping();
    wake_waiters(reason);
}

void StreamChannel::on_lost(LostHandler handler) {
    loss_.on_lost(std::move(handler));
}

void StreamChannel::abort() {
    if (loss_.closed()) {
        return;
    }
    loss_.close();
    std::error_code ignored;
    socket_.close(ignored);
    stopping();
    wake_waiters("the " + protocol_ + " connection was closed");
}

asio::awaitable<void> StreamChannel::close() {
    auto self = shared_from_this();
    abort();
    // The timer's expiry is never touched here: setting it would cancel the wait of another
    // close() running at the same time, and the two would wake each other without end.
    while (active_tasks_ > 0) {
        std::error_code ec;
        co_await tasks_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace atv
