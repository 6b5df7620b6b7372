#include "mrp/channel.hpp"

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>

#include "atv/error.hpp"

namespace atv::mrp {

struct MrpChannel::MessageWaiter : Waiter {
    using Waiter::Waiter;

    std::string identifier;  // matched when non-empty
    MessageType type{};      // matched when identifier is empty
    std::optional<ProtocolMessage> reply;
};

std::shared_ptr<MrpChannel> MrpChannel::create(asio::ip::tcp::socket socket,
                                               std::unique_ptr<MessageFraming> framing) {
    return std::shared_ptr<MrpChannel>(new MrpChannel(std::move(socket), std::move(framing)));
}

MrpChannel::MrpChannel(asio::ip::tcp::socket socket, std::unique_ptr<MessageFraming> framing)
    : StreamChannel(std::move(socket), "MRP"),
      framing_(std::move(framing)),
      heartbeat_timer_(executor()) {}

void MrpChannel::send(const ProtocolMessage& message) {
    ensure_open();
    // The name is looked up only when it is logged: this runs for every message.
    if (spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("mrp: sending {}", type_name(message.type()));
    }
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

asio::awaitable<ProtocolMessage> MrpChannel::request(ProtocolMessage message,
                                                     std::chrono::milliseconds timeout) {
    MessageWaiter waiter(executor());
    waiter.identifier = message.identifier();
    waiter.type = message.type();
    auto waiting = send_and_wait(
        waiter, [this, &message] { send(message); }, timeout, type_name(message.type()));
    co_await std::move(waiting);
    co_return std::move(*waiter.reply);
}

void MrpChannel::enable_encryption(std::unique_ptr<MessageCipher> cipher) {
    cipher_ = std::move(cipher);
}

void MrpChannel::start_heartbeat(std::chrono::milliseconds interval,
                                 std::chrono::milliseconds timeout) {
    spawn([self = std::static_pointer_cast<MrpChannel>(shared_from_this()), interval, timeout]() {
        return self->heartbeat_loop(interval, timeout);
    });
}

void MrpChannel::consume(ByteView bytes) {
    consume_messages(bytes);
    // A copy: the handler may end whoever set it.
    if (const MessagesReadHandler done = messages_read_handler_; done && is_open()) {
        done();
    }
}

void MrpChannel::consume_messages(ByteView bytes) {
    if (framing_) {
        std::vector<Bytes> messages;
        Bytes reply;
        framing_->unframe(bytes, messages, reply);
        if (!reply.empty() && is_open()) {
            queue(std::move(reply));
        }
        for (const Bytes& message : messages) {
            if (!is_open()) {
                break;
            }
            handle_message(message);
        }
        return;
    }
    reader_.feed(bytes);
    while (is_open()) {
        const auto frame = reader_.next_view();
        if (!frame) {
            break;
        }
        handle_frame(*frame);
    }
}

void MrpChannel::stopping() {
    heartbeat_timer_.cancel();
}

asio::awaitable<void> MrpChannel::heartbeat_loop(std::chrono::milliseconds interval,
                                                 std::chrono::milliseconds timeout) {
    while (is_open()) {
        // Every connection beats on one grid of the steady clock, so that a host with many
        // devices wakes once per interval for all of them rather than once per device.
        const auto now = std::chrono::steady_clock::now().time_since_epoch();
        const auto next = (now + interval / 2) / interval * interval + interval;
        heartbeat_timer_.expires_at(std::chrono::steady_clock::time_point(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(next)));
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
    // Parsed into an arena that starts on the stack: a usual state update needs no heap
    // allocation for its many small fields, and all of it goes at once.
    alignas(std::max_align_t) std::array<char, 4096> first_block;
    google::protobuf::Arena arena(first_block.data(), first_block.size());
    auto* message = google::protobuf::Arena::CreateMessage<ProtocolMessage>(&arena);
    if (!parse_into(plaintext, *message)) {
        spdlog::warn("mrp: ignoring a message of {} bytes that is not a ProtocolMessage",
                     plaintext.size());
        return;
    }
    dispatch(*message);
}

void MrpChannel::dispatch(const ProtocolMessage& message) {
    if (spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("mrp: received {}", type_name(message.type()));
    }
    auto* waiter = waiting<MessageWaiter>([&message](const MessageWaiter& candidate) {
        return candidate.identifier.empty()
                   ? !message.has_identifier() && message.type() == candidate.type
                   : message.identifier() == candidate.identifier;
    });
    if (waiter != nullptr) {
        waiter->reply.emplace(message);  // a copy that owns its memory, out of the arena
        reply_arrived(*waiter);
        return;
    }
    if (message_handler_) {
        message_handler_(message);
    }
}

}  // namespace atv::mrp
