#include "companion/channel.hpp"

#include <spdlog/spdlog.h>

#include "atv/error.hpp"

namespace atv::companion {

namespace {

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

// An auth frame waiting for the next frame of its type.
struct CompanionChannel::FrameWaiter : Waiter {
    using Waiter::Waiter;

    FrameType frame_type{};
    Bytes reply;
};

// An E_OPACK request waiting for the response with its transaction id (`_x`).
struct CompanionChannel::OpackWaiter : Waiter {
    using Waiter::Waiter;

    std::int64_t transaction = 0;
    OpackValue reply;
};

std::shared_ptr<CompanionChannel> CompanionChannel::create(asio::ip::tcp::socket socket) {
    return std::shared_ptr<CompanionChannel>(new CompanionChannel(std::move(socket)));
}

CompanionChannel::CompanionChannel(asio::ip::tcp::socket socket)
    : StreamChannel(std::move(socket), "Companion"),
      next_transaction_(random_transaction_start()) {}

void CompanionChannel::send_frame(FrameType type, ByteView payload) {
    ensure_open();
    Bytes frame;
    if (cipher_ && !payload.empty()) {
        const FrameHeader header = make_frame_header(type, payload.size() + 16);
        const Bytes sealed = cipher_->encrypt(payload, header);
        frame.assign(header.begin(), header.end());
        frame.insert(frame.end(), sealed.begin(), sealed.end());
    } else {
        frame = encode_frame(type, payload);
    }
    queue(std::move(frame));
}

asio::awaitable<Bytes> CompanionChannel::exchange(FrameType type, Bytes payload,
                                                  FrameType reply_type,
                                                  std::chrono::milliseconds timeout) {
    FrameWaiter waiter(executor());
    waiter.frame_type = reply_type;
    auto waiting = send_and_wait(
        waiter, [this, type, &payload] { send_frame(type, payload); }, timeout, "a pairing step");
    co_await std::move(waiting);
    co_return std::move(waiter.reply);
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
    OpackWaiter waiter(executor());
    const auto send = [this, &identifier, &content, &waiter] {
        spdlog::debug("companion: request {}", identifier);
        waiter.transaction = send_message(identifier, MessageKind::request, std::move(content));
    };
    auto waiting = send_and_wait(waiter, send, timeout, identifier);
    co_await std::move(waiting);
    co_return std::move(waiter.reply);
}

void CompanionChannel::send_event(const std::string& identifier, OpackValue content) {
    spdlog::debug("companion: event {}", identifier);
    send_message(identifier, MessageKind::event, std::move(content));
}

std::int64_t CompanionChannel::next_transaction_id() {
    const std::int64_t transaction = next_transaction_;
    next_transaction_ = (next_transaction_ + 1) % transaction_id_range;
    return transaction;
}

std::int64_t CompanionChannel::send_message(const std::string& identifier, MessageKind kind,
                                            OpackValue content) {
    const std::int64_t transaction = next_transaction_id();
    send_frame(FrameType::e_opack, opack_encode(OpackDict{{"_i", identifier},
                                                          {"_t", static_cast<std::int64_t>(kind)},
                                                          {"_c", std::move(content)},
                                                          {"_x", transaction}}));
    return transaction;
}

void CompanionChannel::enable_encryption(const hap::SessionKeys& keys) {
    cipher_.emplace(keys);
}

void CompanionChannel::consume(ByteView bytes) {
    reader_.feed(bytes);
    while (is_open()) {
        auto complete = reader_.next();
        if (!complete) {
            break;
        }
        handle_frame(std::move(*complete));
    }
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
    auto* waiter = waiting<FrameWaiter>(
        [&frame](const FrameWaiter& candidate) { return candidate.frame_type == frame.type; });
    if (waiter != nullptr) {
        waiter->reply = std::move(frame.payload);
        reply_arrived(*waiter);
        return;
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
        auto* waiter = waiting<OpackWaiter>([&transaction](const OpackWaiter& candidate) {
            return candidate.transaction == *transaction;
        });
        if (waiter != nullptr) {
            waiter->reply = std::move(message);
            reply_arrived(*waiter);
        } else {
            spdlog::debug("companion: a reply nobody waits for");
        }
        return;
    }
    if (event_handler_) {
        event_handler_(message);
    }
}

}  // namespace atv::companion
