#include "http/transfer.hpp"

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <system_error>
#include <type_traits>

#include "atv/error.hpp"
#include "support/stream_channel.hpp"
#include "support/tcp.hpp"

namespace atv::http {

namespace {

// What a failed read or write means to the caller.
Error transfer_error(const std::error_code& ec, const SocketDeadline& deadline,
                     std::chrono::milliseconds timeout) {
    if (deadline.expired()) {
        return Error(ErrorKind::timeout,
                     "the device did not answer within " + seconds_text(timeout));
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        return Error(ErrorKind::connection_lost, "the device closed the connection");
    }
    return Error(ErrorKind::connection_failed, "talking to the device failed: " + ec.message());
}

asio::awaitable<void> write_all(asio::ip::tcp::socket& socket, ByteView bytes,
                                const SocketDeadline& deadline, std::chrono::milliseconds timeout) {
    std::error_code ec;
    co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        throw transfer_error(ec, deadline, timeout);
    }
}

// Reads until `next` takes a whole message out of `reader`.
template <typename Next>
auto read_whole(asio::ip::tcp::socket& socket, Reader& reader, Next next,
                const SocketDeadline& deadline, std::chrono::milliseconds timeout)
    -> asio::awaitable<typename std::invoke_result_t<Next, Reader&>::value_type> {
    std::array<std::uint8_t, 4096> chunk{};
    for (;;) {
        if (auto message = next(reader)) {
            co_return std::move(*message);
        }
        std::error_code ec;
        const std::size_t count = co_await socket.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            throw transfer_error(ec, deadline, timeout);
        }
        reader.feed(ByteView(chunk.data(), count));
    }
}

}  // namespace

asio::awaitable<Response> round_trip(asio::ip::tcp::socket& socket, Reader& reader,
                                     const Request& request, std::chrono::milliseconds timeout) {
    const SocketDeadline deadline(socket, timeout);
    const Bytes wire = encode(request);
    auto writing = write_all(socket, wire, deadline, timeout);
    co_await std::move(writing);
    auto reading = read_whole(
        socket, reader, [](Reader& r) { return r.next_response(); }, deadline, timeout);
    co_return co_await std::move(reading);
}

asio::awaitable<Request> read_request(asio::ip::tcp::socket& socket, Reader& reader,
                                      std::chrono::milliseconds timeout) {
    const SocketDeadline deadline(socket, timeout);
    auto reading = read_whole(
        socket, reader, [](Reader& r) { return r.next_request(); }, deadline, timeout);
    co_return co_await std::move(reading);
}

asio::awaitable<void> send_response(asio::ip::tcp::socket& socket, const Response& response,
                                    std::chrono::milliseconds timeout) {
    const SocketDeadline deadline(socket, timeout);
    const Bytes wire = encode(response);
    auto writing = write_all(socket, wire, deadline, timeout);
    co_await std::move(writing);
}

}  // namespace atv::http
