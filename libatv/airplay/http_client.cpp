#include "airplay/http_client.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "atv/error.hpp"
#include "support/stream_channel.hpp"
#include "support/tcp.hpp"

namespace atv::airplay {

asio::awaitable<std::unique_ptr<HttpClient>> HttpClient::connect(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::chrono::milliseconds timeout) {
    auto socket =
        co_await connect_tcp(std::move(executor), address, port, timeout, "the AirPlay service");
    co_return std::make_unique<HttpClient>(std::move(socket), address + ":" + std::to_string(port));
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

asio::awaitable<http::Response> HttpClient::request(http::Request request,
                                                    std::chrono::milliseconds timeout) {
    if (busy_) {
        throw Error(ErrorKind::in_progress, "another request to " + peer_ + " is under way");
    }
    busy_ = true;
    struct Idle {
        bool& flag;
        ~Idle() { flag = false; }
    } idle{busy_};
    const SocketDeadline deadline(socket_, timeout);
    try {
        co_return co_await exchange(request);
    } catch (const Error&) {
        if (!deadline.expired())
            throw;
    }
    throw Error(ErrorKind::timeout, "the AirPlay service at " + peer_ + " did not answer " +
                                        request.target + " within " + seconds_text(timeout));
}

asio::awaitable<http::Response> HttpClient::exchange(const http::Request& request) {
    const Bytes plain = http::encode(request);
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

http::Request post_request(std::string path, std::string content_type, Bytes body) {
    http::Request request;
    request.method = "POST";
    request.target = std::move(path);
    request.headers.add("User-Agent", "AirPlay/320.20");
    request.headers.add("Connection", "keep-alive");
    request.headers.add("Content-Type", std::move(content_type));
    request.body = std::move(body);
    return request;
}

http::Request pairing_request(std::string path, Bytes body, std::string_view hkp) {
    http::Request request =
        post_request(std::move(path), "application/octet-stream", std::move(body));
    request.headers.add("X-Apple-HKP", std::string(hkp));
    return request;
}

}  // namespace atv::airplay
