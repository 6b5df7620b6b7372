// The bridge between libatv's error kinds and org.atvd.Error.* names, and the wrappers that
// make sure no exception other than sdbus::Error ever reaches sd-bus.
#pragma once

#include <sdbus-c++/Error.h>
#include <sdbus-c++/MethodResult.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "atv/error.hpp"
#include "bus_loop.hpp"
#include "bus_presence.hpp"

namespace atvd {

inline constexpr const char* error_prefix = "org.atvd.Error.";

sdbus::Error to_bus_error(const atv::Error& error);
sdbus::Error bus_error(atv::ErrorKind kind, const std::string& message);
// Any exception as a bus error; unexpected ones become org.freedesktop.DBus.Error.Failed.
sdbus::Error to_bus_error(std::exception_ptr error);

// Runs a synchronous handler body; every exception leaves as sdbus::Error.
template <typename Fn>
auto guarded(Fn&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const sdbus::Error&) {
        throw;
    } catch (...) {
        throw to_bus_error(std::current_exception());
    }
}

// Sends a deferred reply. The caller may have left the bus meanwhile; that is its business
// and must never take the daemon down.
void send_reply(const std::function<void()>& send);

// Starts a coroutine from a bus handler. It is posted, never run inline: a coroutine must not
// run inside sd-bus's dispatch, where unregistering an object or replying would re-enter it.
template <typename Coroutine, typename Completion>
void spawn_outside_dispatch(asio::io_context& io, Coroutine work, Completion done) {
    asio::post(io, [&io, work = std::move(work), done = std::move(done)]() mutable {
        asio::co_spawn(io, std::move(work), std::move(done));
    });
}

// Runs a coroutine for a server-side asynchronous method and replies once when it ends. The
// reply holds `owner` until it is sent (see bus_presence.hpp).
template <typename Coroutine>
void reply_later(asio::io_context& io, BusLoop& bus, ReplyOwner owner, sdbus::Result<>&& result,
                 Coroutine work) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    if (owner.presence != nullptr) {
        owner.presence->reply_owed();
    }
    spawn_outside_dispatch(io, std::move(work),
                           [reply, &bus, owner = std::move(owner)](std::exception_ptr error) {
                               send_reply([&] {
                                   if (error) {
                                       reply->returnError(to_bus_error(error));
                                   } else {
                                       reply->returnResults();
                                   }
                               });
                               if (owner.presence != nullptr) {
                                   owner.presence->reply_sent();
                               }
                               bus.kick();
                           });
}

template <typename Value, typename Coroutine>
void reply_later(asio::io_context& io, BusLoop& bus, ReplyOwner owner,
                 sdbus::Result<Value>&& result, Coroutine work) {
    auto reply = std::make_shared<sdbus::Result<Value>>(std::move(result));
    if (owner.presence != nullptr) {
        owner.presence->reply_owed();
    }
    spawn_outside_dispatch(
        io, std::move(work),
        [reply, &bus, owner = std::move(owner)](std::exception_ptr error, Value value) {
            send_reply([&] {
                if (error) {
                    reply->returnError(to_bus_error(error));
                } else {
                    reply->returnResults(value);
                }
            });
            if (owner.presence != nullptr) {
                owner.presence->reply_sent();
            }
            bus.kick();
        });
}

}  // namespace atvd
