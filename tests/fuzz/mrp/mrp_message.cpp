// Untrusted bytes as a ProtocolMessage: parsing, re-serialising, and dispatch through an MRP
// channel (replies nobody waits for reach the message handler).
#include <spdlog/spdlog.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>

#include "mrp/channel.hpp"
#include "mrp/framing.hpp"
#include "mrp/handshake.hpp"
#include "mrp/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    const atv::ByteView input(data, size);
    if (auto message = atv::mrp::parse(input)) {
        (void)atv::mrp::type_name(message->type());
        (void)atv::mrp::pairing_data(*message);
        const auto again = atv::mrp::parse(atv::mrp::serialize(*message));
        if (!again || again->type() != message->type() ||
            again->identifier() != message->identifier()) {
            __builtin_trap();
        }
    }

    asio::io_context io;
    auto channel = atv::mrp::MrpChannel::create(asio::ip::tcp::socket(io));
    std::size_t dispatched = 0;
    channel->on_message([&](const atv::mrp::ProtocolMessage&) { ++dispatched; });
    channel->feed(atv::mrp::encode_frame(input));
    channel->feed(input);  // also as a raw stream of frames
    io.run();
    return 0;
}
