#include "mrp/channel.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>
#include <variant>
#include <vector>

#include "atv/error.hpp"

namespace atv::mrp {

namespace {

constexpr int keepalive_idle_seconds = 1;
constexpr int keepalive_interval_seconds = 5;
constexpr int keepalive_probes = 4;
constexpr std::size_t read_chunk_size = 16 * 1024;

std::string endpoint_text(const std::string& address, std::uint16_t port) {
    return address + ":" + std::to_string(port);
}

std::string seconds_text(std::chrono::milliseconds duration) {
    const auto tenths = duration.count() / 100;
    return std::to_string(tenths / 10) +
           (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : "") + " s";
}

}  // namespace

void enable_keepalive(asio::ip::tcp::socket& socket) {
    socket.set_option(asio::socket_base::keep_alive(true));
    const int handle = socket.native_handle();
    // Failures only cost the early detection; heartbeats still notice a dead peer.
    const auto set = [handle](int option, int value) {
        if (::setsockopt(handle, IPPROTO_TCP, option, &value, sizeof value) != 0) {
            spdlog::debug("mrp: setting TCP keepalive option {} failed", option);
        }
    };
    set(TCP_KEEPIDLE, keepalive_idle_seconds);
    set(TCP_KEEPINTVL, keepalive_interval_seconds);
    set(TCP_KEEPCNT, keepalive_probes);
}

asio::awaitable<asio::ip::tcp::socket> connect_tcp(asio::any_io_executor executor,
                                                   const std::string& address, std::uint16_t port,
                                                   std::chrono::milliseconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    std::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(address, ec);
    if (ec) {
        throw Error(ErrorKind::connection_failed,
                    "'" + address + "' is not an IP address; scan for the device again");
    }
    asio::ip::tcp::socket socket(executor);
    asio::steady_timer deadline(executor);
    deadline.expires_after(timeout);
    std::error_code connect_error;
    const auto outcome =
        co_await (socket.async_connect({ip, port},
                                       asio::redirect_error(asio::use_awaitable, connect_error)) ||
                  deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 1) {
        throw Error(ErrorKind::timeout, "the device at " + endpoint_text(address, port) +
                                            " did not accept a connection within " +
                                            seconds_text(timeout) +
                                            "; check that it is awake and reachable");
    }
    if (connect_error) {
        throw Error(ErrorKind::connection_failed,
                    "could not connect to the MRP service at " + endpoint_text(address, port) +
                        ": " + connect_error.message() +
                        "; the port may have changed, scan for the device again");
    }
    socket.set_option(asio::ip::tcp::no_delay(true));
    enable_keepalive(socket);
    co_return socket;
}

// One request waiting for its reply. Lives in the frame of the waiting coroutine.
struct MrpChannel::Waiter {
    explicit Waiter(asio::any_io_executor executor) : signal(std::move(executor)) {}

    std::string identifier;     // matched when non-empty
    MessageType type{};         // matched when identifier is empty
    asio::steady_timer signal;  // cancelled when the reply or a failure arrives
    std::optional<ProtocolMessage> reply;
    std::optional<std::string> failure;
};

// Keeps a waiter listed exactly as long as the waiting coroutine exists.
class MrpChannel::WaiterRegistration {
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

std::shared_ptr<MrpChannel> MrpChannel::create(asio::ip::tcp::socket socket,
                                               std::unique_ptr<MessageFraming> framing) {
    return std::shared_ptr<MrpChannel>(new MrpChannel(std::move(socket), std::move(framing)));
}

MrpChannel::MrpChannel(asio::ip::tcp::socket socket, std::unique_ptr<MessageFraming> framing)
    : socket_(std::move(socket)),
      framing_(std::move(framing)),
      heartbeat_timer_(socket_.get_executor()),
      tasks_done_(socket_.get_executor()) {}

MrpChannel::~MrpChannel() {
    std::error_code ignored;
    socket_.close(ignored);
}

template <typename Body>
void MrpChannel::spawn(Body body) {
    ++active_tasks_;
    asio::co_spawn(socket_.get_executor(), std::move(body),
                   [self = shared_from_this()](std::exception_ptr error) {
                       if (error) {
                           try {
                               std::rethrow_exception(error);
                           } catch (const std::exception& e) {
                               spdlog::warn("mrp: channel task ended with an error: {}", e.what());
                               self->fail(e.what());
                           }
                       }
                       self->task_finished();
                   });
}

void MrpChannel::task_finished() {
    if (--active_tasks_ == 0) {
        tasks_done_.cancel();
    }
}

void MrpChannel::start() {
    if (started_) {
        return;
    }
    started_ = true;
    spawn([self = shared_from_this()]() { return self->read_loop(); });
}

void MrpChannel::send(const ProtocolMessage& message) {
    if (!is_open()) {
        throw Error(ErrorKind::connection_lost,
                    "the MRP connection is closed; connect to the device again");
    }
    spdlog::debug("mrp: sending {}", type_name(message.type()));
    Bytes payload = serialize(message);
    if (framing_) {
        queue(framing_->frame(payload));
        return;
    }
    if (cipher_) {
        payload = cipher_->seal(payload);
    }
    queue(encode_frame(payload));
}

void MrpChannel::queue(Bytes wire) {
    outbox_.push_back(std::move(wire));
    if (!writing_) {
        writing_ = true;
        spawn([self = shared_from_this()]() { return self->write_loop(); });
    }
}

asio::awaitable<ProtocolMessage> MrpChannel::request(ProtocolMessage message,
                                                     std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    if (lost_) {
        throw Error(ErrorKind::connection_failed, lost_reason_);
    }
    Waiter waiter(socket_.get_executor());
    waiter.identifier = message.identifier();
    waiter.type = message.type();
    WaiterRegistration registration(waiters_, waiter);
    send(message);

    waiter.signal.expires_after(timeout);
    std::error_code ec;
    co_await waiter.signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (waiter.reply) {
        co_return std::move(*waiter.reply);
    }
    if (waiter.failure) {
        throw Error(ErrorKind::connection_failed, *waiter.failure);
    }
    if (ec) {
        throw Error(ErrorKind::connection_failed,
                    "the wait for " + type_name(message.type()) + " was cancelled");
    }
    throw Error(ErrorKind::timeout, "the device did not answer " + type_name(message.type()) +
                                        " within " + seconds_text(timeout));
}

void MrpChannel::enable_encryption(std::unique_ptr<MessageCipher> cipher) {
    cipher_ = std::move(cipher);
}

void MrpChannel::start_heartbeat(std::chrono::milliseconds interval,
                                 std::chrono::milliseconds timeout) {
    spawn([self = shared_from_this(), interval, timeout]() {
        return self->heartbeat_loop(interval, timeout);
    });
}

asio::awaitable<void> MrpChannel::read_loop() {
    std::array<std::uint8_t, read_chunk_size> chunk{};
    while (is_open()) {
        std::error_code ec;
        const std::size_t count = co_await socket_.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            fail(ec == asio::error::eof ? "the device closed the connection"
                                        : "the connection to the device broke: " + ec.message());
            co_return;
        }
        feed(ByteView(chunk.data(), count));
    }
}

void MrpChannel::feed(ByteView bytes) {
    try {
        if (framing_) {
            std::vector<Bytes> messages;
            Bytes reply;
            framing_->unframe(bytes, messages, reply);
            if (!reply.empty() && is_open()) queue(std::move(reply));
            for (const Bytes& message : messages) {
                if (!is_open()) break;
                handle_message(message);
            }
            return;
        }
        reader_.feed(bytes);
        while (is_open()) {
            auto frame = reader_.next();
            if (!frame) {
                break;
            }
            handle_frame(*frame);
        }
    } catch (const Error& error) {
        fail(error.what());
    }
}

asio::awaitable<void> MrpChannel::write_loop() {
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

asio::awaitable<void> MrpChannel::heartbeat_loop(std::chrono::milliseconds interval,
                                                 std::chrono::milliseconds timeout) {
    while (is_open()) {
        heartbeat_timer_.expires_after(interval);
        std::error_code ec;
        co_await heartbeat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !is_open()) {
            co_return;
        }
        bool answered = false;
        for (int attempt = 0; attempt < 2 && !answered && is_open(); ++attempt) {
            try {
                co_await request(heartbeat(), timeout);
                answered = true;
            } catch (const Error& error) {
                spdlog::debug("mrp: heartbeat attempt {} failed: {}", attempt + 1, error.what());
            }
        }
        if (!answered) {
            fail("the device stopped answering heartbeats");
            co_return;
        }
    }
}

void MrpChannel::handle_frame(ByteView frame) {
    Bytes plaintext;
    if (cipher_) {
        auto opened = cipher_->open(frame);
        if (!opened) {
            fail("a message from the device failed decryption; the session keys do not match");
            return;
        }
        plaintext = std::move(*opened);
        frame = plaintext;
    }
    handle_message(frame);
}

void MrpChannel::handle_message(ByteView plaintext) {
    auto message = parse(plaintext);
    if (!message) {
        spdlog::warn("mrp: ignoring a message of {} bytes that is not a ProtocolMessage",
                     plaintext.size());
        return;
    }
    dispatch(std::move(*message));
}

void MrpChannel::dispatch(ProtocolMessage message) {
    spdlog::debug("mrp: received {}", type_name(message.type()));
    for (Waiter* waiter : waiters_) {
        if (waiter->reply || waiter->failure) {
            continue;
        }
        const bool matches = waiter->identifier.empty()
                                 ? !message.has_identifier() && message.type() == waiter->type
                                 : message.identifier() == waiter->identifier;
        if (matches) {
            waiter->reply = std::move(message);
            waiter->signal.cancel();
            return;
        }
    }
    if (message_handler_) {
        message_handler_(message);
    }
}

void MrpChannel::wake_waiters(const std::string& reason) {
    for (Waiter* waiter : waiters_) {
        if (!waiter->reply && !waiter->failure) {
            waiter->failure = reason;
            waiter->signal.cancel();
        }
    }
}

void MrpChannel::fail(const std::string& reason) {
    if (closing_ || lost_) {
        return;
    }
    lost_ = true;
    lost_reason_ = reason;
    spdlog::info("mrp: connection lost: {}", reason);
    std::error_code ignored;
    socket_.close(ignored);
    heartbeat_timer_.cancel();
    wake_waiters(reason);
    report_lost();
}

void MrpChannel::on_lost(LostHandler handler) {
    lost_handler_ = std::move(handler);
    if (lost_) {
        report_lost();
    }
}

// Posted, so the handler never runs inside a channel call; taken out, so it runs once.
void MrpChannel::report_lost() {
    if (!lost_handler_) {
        return;
    }
    asio::post(socket_.get_executor(), [self = shared_from_this()]() {
        if (!self->closing_ && self->lost_handler_) {
            auto handler = std::move(self->lost_handler_);
            self->lost_handler_ = nullptr;
            handler(self->lost_reason_);
        }
    });
}

void MrpChannel::abort() {
    if (closing_) {
        return;
    }
    closing_ = true;
    lost_handler_ = nullptr;
    std::error_code ignored;
    socket_.close(ignored);
    heartbeat_timer_.cancel();
    wake_waiters("the connection was closed");
}

asio::awaitable<void> MrpChannel::close() {
    auto self = shared_from_this();
    abort();
    while (active_tasks_ > 0) {
        tasks_done_.expires_at(asio::steady_timer::time_point::max());
        std::error_code ec;
        co_await tasks_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace atv::mrp
