#include "companion/channel.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>
#include <vector>

#include "atv/error.hpp"
#include "mrp/channel.hpp"

namespace atv::companion {

namespace {

constexpr std::size_t read_chunk_size = 16 * 1024;
constexpr std::int64_t transaction_id_range = 65536;

std::int64_t random_transaction_start() {
    const Bytes random = random_bytes(2);
    return (std::int64_t{random[0]} << 8) | random[1];
}

std::string refusal_reason(const OpackValue& reply) {
    return reply.string_at("_em").value_or("no reason given");
}

OpackValue reply_content(const OpackValue& reply) {
    const OpackValue* content = reply.find("_c");
    return content != nullptr ? *content : OpackValue(OpackDict{});
}

}  // namespace

asio::awaitable<asio::ip::tcp::socket> connect_companion_tcp(asio::any_io_executor executor,
                                                             const std::string& address,
                                                             std::uint16_t port,
                                                             std::chrono::milliseconds timeout) {
    try {
        co_return co_await mrp::connect_tcp(std::move(executor), address, port, timeout);
    } catch (const Error& error) {
        if (error.kind() != ErrorKind::connection_failed)
            throw;
        throw Error(ErrorKind::connection_failed, "could not connect to the Companion service at " +
                                                      address + ":" + std::to_string(port) +
                                                      "; the port may have changed, scan again");
    }
}

// One exchange waiting for its reply. Lives in the frame of the waiting coroutine.
struct CompanionChannel::Waiter {
    explicit Waiter(asio::any_io_executor executor) : signal(std::move(executor)) {}

    std::optional<FrameType> frame_type;      // auth replies: the next frame of this type
    std::optional<std::int64_t> transaction;  // E_OPACK replies: `_x`
    asio::steady_timer signal;                // cancelled when the reply or a failure arrives
    std::optional<Bytes> frame_reply;
    std::optional<OpackValue> opack_reply;
    std::optional<std::string> failure;

    [[nodiscard]] bool done() const { return frame_reply || opack_reply || failure; }
};

class CompanionChannel::WaiterRegistration {
  public:
    WaiterRegistration(std::list<Waiter*>& list, Waiter& waiter)
        : list_(list), position_(list.insert(list.end(), &waiter)) {}
    WaiterRegistration(const WaiterRegistration&) = delete;
    WaiterRegistration& operator=(const WaiterRegistration&) = delete;
    ~WaiterRegistration() { list_.erase(position_); }

  private:
    std::list<Waiter*>& list_;
    std::list<Waiter*>::iterator position_;
};

std::shared_ptr<CompanionChannel> CompanionChannel::create(asio::ip::tcp::socket socket) {
    return std::shared_ptr<CompanionChannel>(new CompanionChannel(std::move(socket)));
}

CompanionChannel::CompanionChannel(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)),
      tasks_done_(socket_.get_executor()),
      next_transaction_(random_transaction_start()) {
    // Only task_finished() ends a wait on it, by cancelling.
    tasks_done_.expires_at(asio::steady_timer::time_point::max());
}

CompanionChannel::~CompanionChannel() {
    std::error_code ignored;
    socket_.close(ignored);
}

template <typename Body>
void CompanionChannel::spawn(Body body) {
    ++active_tasks_;
    asio::co_spawn(socket_.get_executor(), std::move(body),
                   [self = shared_from_this()](std::exception_ptr error) {
                       if (error) {
                           try {
                               std::rethrow_exception(error);
                           } catch (const std::exception& e) {
                               spdlog::warn("companion: channel task ended with an error: {}",
                                            e.what());
                               self->fail(e.what());
                           }
                       }
                       self->task_finished();
                   });
}

void CompanionChannel::task_finished() {
    if (--active_tasks_ == 0)
        tasks_done_.cancel();
}

void CompanionChannel::start() {
    if (started_)
        return;
    started_ = true;
    spawn([self = shared_from_this()]() { return self->read_loop(); });
}

void CompanionChannel::send_frame(FrameType type, ByteView payload) {
    if (!is_open()) {
        throw Error(ErrorKind::connection_lost,
                    "the Companion connection is closed; connect to the device again");
    }
    Bytes frame;
    if (cipher_ && !payload.empty()) {
        const FrameHeader header = make_frame_header(type, payload.size() + 16);
        const Bytes sealed = cipher_->encrypt(payload, header);
        frame.assign(header.begin(), header.end());
        frame.insert(frame.end(), sealed.begin(), sealed.end());
    } else {
        frame = encode_frame(type, payload);
    }
    outbox_.push_back(std::move(frame));
    if (!writing_) {
        writing_ = true;
        spawn([self = shared_from_this()]() { return self->write_loop(); });
    }
}

asio::awaitable<void> CompanionChannel::wait(Waiter& waiter, std::chrono::milliseconds timeout,
                                             const std::string& what) {
    waiter.signal.expires_after(timeout);
    std::error_code ec;
    co_await waiter.signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (waiter.frame_reply || waiter.opack_reply)
        co_return;
    if (waiter.failure)
        throw Error(ErrorKind::connection_failed, *waiter.failure);
    if (ec)
        throw Error(ErrorKind::connection_failed, "the wait for " + what + " was cancelled");
    throw Error(ErrorKind::timeout, "the device did not answer " + what + " within " +
                                        std::to_string(timeout.count()) + " ms");
}

asio::awaitable<Bytes> CompanionChannel::exchange(FrameType type, Bytes payload,
                                                  FrameType reply_type,
                                                  std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    if (lost_)
        throw Error(ErrorKind::connection_failed, lost_reason_);
    Waiter waiter(socket_.get_executor());
    waiter.frame_type = reply_type;
    WaiterRegistration registration(waiters_, waiter);
    send_frame(type, payload);
    co_await wait(waiter, timeout, "a pairing step");
    co_return std::move(*waiter.frame_reply);
}

asio::awaitable<OpackValue> CompanionChannel::request(std::string identifier, OpackValue content,
                                                      std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    const OpackValue reply = co_await exchange_opack(identifier, std::move(content), timeout);
    if (reply.find("_em") != nullptr) {
        throw Error(ErrorKind::connection_failed,
                    "the device refused " + identifier + ": " + refusal_reason(reply));
    }
    co_return reply_content(reply);
}

asio::awaitable<std::optional<OpackValue>> CompanionChannel::try_request(
    std::string identifier, OpackValue content, std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    const OpackValue reply = co_await exchange_opack(identifier, std::move(content), timeout);
    if (reply.find("_em") != nullptr) {
        spdlog::debug("companion: the device refused {}: {}", identifier, refusal_reason(reply));
        co_return std::nullopt;
    }
    co_return reply_content(reply);
}

asio::awaitable<OpackValue> CompanionChannel::exchange_opack(const std::string& identifier,
                                                             OpackValue content,
                                                             std::chrono::milliseconds timeout) {
    if (lost_)
        throw Error(ErrorKind::connection_failed, lost_reason_);
    const std::int64_t transaction = next_transaction_;
    next_transaction_ = (next_transaction_ + 1) % transaction_id_range;
    Waiter waiter(socket_.get_executor());
    waiter.transaction = transaction;
    WaiterRegistration registration(waiters_, waiter);
    spdlog::debug("companion: request {}", identifier);
    send_frame(FrameType::e_opack,
               opack_encode(OpackDict{{"_i", identifier},
                                      {"_t", static_cast<std::int64_t>(MessageKind::request)},
                                      {"_c", std::move(content)},
                                      {"_x", transaction}}));
    co_await wait(waiter, timeout, identifier);
    co_return std::move(*waiter.opack_reply);
}

void CompanionChannel::send_event(std::string identifier, OpackValue content) {
    send_frame(FrameType::e_opack,
               opack_encode(OpackDict{{"_i", std::move(identifier)},
                                      {"_t", static_cast<std::int64_t>(MessageKind::event)},
                                      {"_c", std::move(content)}}));
}

void CompanionChannel::enable_encryption(const hap::SessionKeys& keys) {
    cipher_.emplace(keys);
}

asio::awaitable<void> CompanionChannel::read_loop() {
    std::array<std::uint8_t, read_chunk_size> chunk{};
    while (is_open()) {
        std::error_code ec;
        const std::size_t count = co_await socket_.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            fail(ec == asio::error::eof ? "the device closed the Companion connection"
                                        : "the Companion connection broke: " + ec.message());
            co_return;
        }
        feed(ByteView(chunk.data(), count));
    }
}

void CompanionChannel::feed(ByteView bytes) {
    try {
        reader_.feed(bytes);
        while (is_open()) {
            auto complete = reader_.next();
            if (!complete)
                break;
            handle_frame(std::move(*complete));
        }
    } catch (const Error& error) {
        fail(error.what());
    }
}

asio::awaitable<void> CompanionChannel::write_loop() {
    while (!outbox_.empty() && is_open()) {
        std::vector<Bytes> batch(std::make_move_iterator(outbox_.begin()),
                                 std::make_move_iterator(outbox_.end()));
        outbox_.clear();
        std::vector<asio::const_buffer> buffers;
        buffers.reserve(batch.size());
        for (const Bytes& frame : batch)
            buffers.emplace_back(asio::buffer(frame));
        std::error_code ec;
        co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            fail("sending to the device failed: " + ec.message());
    }
    writing_ = false;
}

void CompanionChannel::handle_frame(FrameReader::Complete complete) {
    Frame& frame = complete.frame;
    if (cipher_ && !frame.payload.empty()) {
        auto opened = cipher_->decrypt(frame.payload, complete.header);
        if (!opened) {
            fail("a Companion frame failed decryption; the session keys do not match");
            return;
        }
        frame.payload = std::move(*opened);
    }
    for (Waiter* waiter : waiters_) {
        if (!waiter->done() && waiter->frame_type == frame.type) {
            waiter->frame_reply = std::move(frame.payload);
            waiter->signal.cancel();
            return;
        }
    }
    if (frame.type == FrameType::e_opack) {
        dispatch_opack(opack_decode(frame.payload));
    } else {
        spdlog::debug("companion: ignoring a frame of type {}", static_cast<int>(frame.type));
    }
}

void CompanionChannel::dispatch_opack(OpackValue message) {
    const auto kind = message.int_at("_t");
    const auto transaction = message.int_at("_x");
    if (kind == static_cast<std::int64_t>(MessageKind::response) && transaction) {
        for (Waiter* waiter : waiters_) {
            if (!waiter->done() && waiter->transaction == transaction) {
                waiter->opack_reply = std::move(message);
                waiter->signal.cancel();
                return;
            }
        }
        spdlog::debug("companion: a reply nobody waits for");
        return;
    }
    if (event_handler_)
        event_handler_(message);
}

void CompanionChannel::wake_waiters(const std::string& reason) {
    for (Waiter* waiter : waiters_) {
        if (!waiter->done()) {
            waiter->failure = reason;
            waiter->signal.cancel();
        }
    }
}

void CompanionChannel::fail(const std::string& reason) {
    if (closing_ || lost_)
        return;
    lost_ = true;
    lost_reason_ = reason;
    spdlog::info("companion: connection lost: {}", reason);
    std::error_code ignored;
    socket_.close(ignored);
    wake_waiters(reason);
    report_lost();
}

void CompanionChannel::on_lost(LostHandler handler) {
    lost_handler_ = std::move(handler);
    if (lost_)
        report_lost();
}

void CompanionChannel::report_lost() {
    if (!lost_handler_)
        return;
    asio::post(socket_.get_executor(), [self = shared_from_this()]() {
        if (!self->closing_ && self->lost_handler_) {
            auto handler = std::move(self->lost_handler_);
            self->lost_handler_ = nullptr;
            handler(self->lost_reason_);
        }
    });
}

void CompanionChannel::abort() {
    if (closing_)
        return;
    closing_ = true;
    lost_handler_ = nullptr;
    std::error_code ignored;
    socket_.close(ignored);
    wake_waiters("the Companion connection was closed");
}

asio::awaitable<void> CompanionChannel::close() {
    auto self = shared_from_this();
    abort();
    // The timer's expiry is never touched here: setting it would cancel the wait of another
    // close() running at the same time, and the two would wake each other without end.
    while (active_tasks_ > 0) {
        std::error_code ec;
        co_await tasks_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace atv::companion
