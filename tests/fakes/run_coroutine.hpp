// Runs one coroutine on a test's io_context until it finishes (or the loop until a condition
// holds), for tests and benchmarks that drive libatv against the fakes from plain functions.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

namespace atv::fakes {

inline constexpr std::chrono::seconds run_limit{20};

// Returns what the coroutine returned and rethrows what it threw; throws when it has not
// finished within `limit`, so a hung protocol fails a test instead of stalling it.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task,
      std::chrono::steady_clock::duration limit = run_limit) {
    std::optional<T> result;
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr error, T value) {
        failure = error;
        if (!error) {
            result.emplace(std::move(value));
        }
        done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(100));
    }
    if (!done) {
        throw std::runtime_error("the coroutine did not finish in time");
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    return std::move(*result);
}

inline void run(asio::io_context& io, asio::awaitable<void> task,
                std::chrono::steady_clock::duration limit = run_limit) {
    run(
        io,
        [](asio::awaitable<void> inner) -> asio::awaitable<bool> {
            co_await std::move(inner);
            co_return true;
        }(std::move(task)),
        limit);
}

// Lets the loop work until `condition` holds or `limit` passes, for what arrives on its own
// (a loss report, a message at the fake). Returns whether `condition` holds.
inline bool run_until(asio::io_context& io, const std::function<bool()>& condition,
                      std::chrono::steady_clock::duration limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(20));
    }
    return condition();
}

// Lets the loop work for `duration`, to show that something does not happen within it.
inline void run_for(asio::io_context& io, std::chrono::steady_clock::duration duration) {
    run_until(
        io, [] { return false; }, duration);
}

}  // namespace atv::fakes
