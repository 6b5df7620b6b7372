#include "tcp_server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <exception>
#include <utility>

namespace atv::fakes {

TcpServer::TcpServer(asio::any_io_executor executor, std::string name)
    : executor_(executor), name_(std::move(name)), acceptor_(executor), tasks_done_(executor) {}

TcpServer::~TcpServer() {
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto& socket : sockets_)
        socket.close(ignored);
}

void TcpServer::start(const std::string& bind_address, std::uint16_t port, Serve serve) {
    serve_ = std::move(serve);
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(bind_address), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    ++active_tasks_;
    asio::co_spawn(executor_, accept_loop(), [this](std::exception_ptr error) {
        if (error)
            spdlog::error("{}: the accept loop failed", name_);
        task_finished();
    });
}

void TcpServer::task_finished() {
    if (--active_tasks_ == 0)
        tasks_done_.cancel();
}

asio::awaitable<void> TcpServer::accept_loop() {
    while (!stopping_) {
        std::error_code ec;
        asio::ip::tcp::socket socket =
            co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted)
                co_return;
            continue;
        }
        auto position = sockets_.insert(sockets_.end(), std::move(socket));
        ++active_tasks_;
        asio::co_spawn(executor_, serve(position), [this](std::exception_ptr error) {
            if (error)
                spdlog::warn("{}: a connection ended with an error", name_);
            task_finished();
        });
    }
}

asio::awaitable<void> TcpServer::serve(std::list<asio::ip::tcp::socket>::iterator socket) {
    std::exception_ptr failure;
    try {
        auto serving = serve_(*socket);
        co_await std::move(serving);
    } catch (...) {
        failure = std::current_exception();
    }
    std::error_code ignored;
    socket->close(ignored);
    sockets_.erase(socket);
    if (failure)
        std::rethrow_exception(failure);
}

void TcpServer::drop_connections() {
    for (auto& socket : sockets_) {
        std::error_code ignored;
        socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
}

asio::awaitable<void> TcpServer::stop() {
    stopping_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    drop_connections();
    while (active_tasks_ > 0) {
        tasks_done_.expires_at(asio::steady_timer::time_point::max());
        std::error_code ec;
        co_await tasks_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace atv::fakes
