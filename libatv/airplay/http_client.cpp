#include "airplay/http_client.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "atv/error.hpp"
#include "mrp/channel.hpp"

namespace atv::airplay {

namespace {

std::string seconds_text(std::chrono::milliseconds timeout) {
    return std::to_string(static_cast<double>(timeout.count()) / 1000.0).substr(0, 4) + " s";
}

}  // namespace

asio::awaitable<std::unique_ptr<HttpClient>> HttpClient::connect(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::chrono::milliseconds timeout) {
    const std::string peer = address + ":" + std::to_string(port);
    try {
        auto socket = co_await mrp::connect_tcp(std::move(executor), address, port, timeout);
        co_return std::make_unique<HttpClient>(std::move(socket), peer);
    } catch (const Error& error) {
        if (error.kind() != ErrorKind::connection_failed)
            throw;
        throw Error(ErrorKind::connection_failed,
                    "could not connect to the AirPlay service at " + peer +
                        "; the port may have changed, scan for the device again");
    }
}

HttpClient::HttpClient(asio::ip::tcp::socket socket, std::string peer)
    : socket_(std::move(socket)), peer_(std::move(peer)) {}

HttpClient::~HttpClient() {
    close();
}

void HttpClient::close() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

std::string HttpClient::local_address() const {
    std::error_code ec;
    const auto endpoint = socket_.local_endpoint(ec);
    return ec ? std::string("127.0.0.1") : endpoint.address().to_string();
}

void HttpClient::enable_encryption(const hap::SessionKeys& keys) {
    cipher_.emplace(keys);
}

asio::awaitable<HttpResponse> HttpClient::request(HttpRequest request,
                                                  std::chrono::milliseconds timeout) {
    if (busy_) {
        throw Error(ErrorKind::in_progress, "another request to " + peer_ + " is under way");
    }
    busy_ = true;
    struct Idle {
        bool& flag;
        ~Idle() { flag = false; }
    } idle{busy_};
    // The deadline closes the socket: the pending read or write then ends with an error.
    // `finished` keeps a handler that was already queued when the exchange ended away from a
    // client that may be gone by then.
    struct Watch {
        bool timed_out = false;
        bool finished = false;
    };
    auto watch = std::make_shared<Watch>();
    asio::steady_timer deadline(socket_.get_executor());
    deadline.expires_after(timeout);
    deadline.async_wait([this, watch](std::error_code ec) {
        if (ec || watch->finished)
            return;
        watch->timed_out = true;
        close();
    });
    std::exception_ptr failure;
    HttpResponse response;
    try {
        response = co_await exchange(request);
    } catch (...) {
        failure = std::current_exception();
    }
    watch->finished = true;
    deadline.cancel();
    if (watch->timed_out) {
        throw Error(ErrorKind::timeout, "the AirPlay service at " + peer_ + " did not answer " +
                                            request.target + " within " + seconds_text(timeout));
    }
    if (failure)
        std::rethrow_exception(failure);
    co_return response;
}

asio::awaitable<HttpResponse> HttpClient::exchange(const HttpRequest& request) {
    const Bytes plain = encode(request);
    const Bytes wire = cipher_ ? cipher_->encrypt(plain) : plain;
    std::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(wire),
                               asio::redirect_error(asio::use_awaitable, ec));
    std::array<std::uint8_t, 4096> chunk{};
    while (!ec) {
        if (auto response = reader_.next_response())
            co_return std::move(*response);
        const std::size_t count = co_await socket_.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            break;
        const ByteView received(chunk.data(), count);
        if (!cipher_) {
            reader_.feed(received);
        } else if (auto opened = cipher_->decrypt(received)) {
            reader_.feed(*opened);
        }
    }
    throw Error(ErrorKind::connection_failed, "the AirPlay service at " + peer_ +
                                                  " closed the connection (" + ec.message() + ")");
}

HttpRequest pairing_request(std::string path, Bytes body, std::string_view hkp) {
    HttpRequest request;
    request.method = "POST";
    request.target = std::move(path);
    request.headers.add("User-Agent", "AirPlay/320.20");
    request.headers.add("Connection", "keep-alive");
    request.headers.add("X-Apple-HKP", std::string(hkp));
    request.headers.add("Content-Type", "application/octet-stream");
    request.body = std::move(body);
    return request;
}

}  // namespace atv::airplay
