#include "pairing_object.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>

#include "arguments.hpp"
#include "bus_errors.hpp"
#include "properties.hpp"

namespace atvd {

PairingObject::PairingObject(Context& context, std::string path,
                             std::unique_ptr<atv::PairingHandler> handler, uid_t owner,
                             std::chrono::milliseconds idle_timeout, Hooks hooks)
    : AdaptorInterfaces(context.bus, std::move(path)),
      context_(context),
      handler_(std::move(handler)),
      owner_(owner),
      idle_timeout_(idle_timeout),
      hooks_(std::move(hooks)),
      idle_timer_(context.io),
      presence_([this] { unregisterAdaptor(); }) {
    registerAdaptor();
    registered_ = true;
    emit_signal(context_.loop, getObject().getObjectPath(), [this] {
        emitInterfacesAddedSignal({org::atvd::PairingHandler1_adaptor::INTERFACE_NAME});
    });
}

void PairingObject::start() {
    restart_idle_timer();
}

PairingObject::~PairingObject() {
    withdraw();
}

void PairingObject::withdraw() {
    if (!registered_) {
        return;
    }
    registered_ = false;
    emit_signal(context_.loop, getObject().getObjectPath(), [this] {
        emitInterfacesRemovedSignal({org::atvd::PairingHandler1_adaptor::INTERFACE_NAME});
    });
    presence_.leave();
    context_.loop.kick();
}

ReplyOwner PairingObject::reply_owner() {
    return {shared_from_this(), &presence_};
}

asio::awaitable<void> PairingObject::shut_down() {
    if (state_ == State::closed) {
        co_return;
    }
    auto self = shared_from_this();
    idle_timer_.cancel();
    set_state(State::closed);
    try {
        co_await handler_->close();
    } catch (const std::exception& error) {
        spdlog::debug("closing the {} pairing: {}", Protocol(), error.what());
    }
    withdraw();
    if (hooks_.closed) {
        hooks_.closed();
    }
}

void PairingObject::restart_idle_timer() {
    idle_timer_.expires_after(idle_timeout_);
    idle_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        // A wait that fired just as the timer was restarted (its handler already queued) is
        // stale: the new expiry lies ahead.
        if (ec || !self || self->step_running_ ||
            self->idle_timer_.expiry() > std::chrono::steady_clock::now()) {
            return;
        }
        spdlog::info("{} pairing handler unused for too long; closing it", self->Protocol());
        asio::co_spawn(self->context_.io, self->shut_down(), asio::detached);
    });
}

void PairingObject::set_state(enum State state) {
    if (state_ == state) {
        return;
    }
    state_ = state;
    ChangedProperties changed;
    changed.add("State");
    changed.add("HasPaired");
    if (registered_) {
        changed.emit(context_.loop, getObject(),
                     org::atvd::PairingHandler1_adaptor::INTERFACE_NAME);
        context_.loop.kick();
    }
}

void PairingObject::run_step(sdbus::Result<>&& result, const char* name,
                             std::function<asio::awaitable<void>()> step) {
    const Caller caller = current_caller(getObject());
    Authorization::require_owner(caller, owner_);
    if (state_ == State::closed) {
        throw bus_error(atv::ErrorKind::invalid_state, "the pairing handler is closed");
    }
    if (step_running_) {
        throw bus_error(atv::ErrorKind::in_progress,
                        std::string("another step of this pairing is still running; ") + name +
                            " must wait for it");
    }
    step_running_ = true;
    restart_idle_timer();
    reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                [self = shared_from_this(), step = std::move(step)]() -> asio::awaitable<void> {
                    struct Done {
                        PairingObject& object;
                        ~Done() {
                            object.step_running_ = false;
                            object.restart_idle_timer();
                        }
                    } done{*self};
                    co_await step();
                });
}

void PairingObject::Begin(sdbus::Result<>&& result) {
    guarded([&] {
        // Another user learns nothing, not even the state, before the owner check.
        Authorization::require_owner(current_caller(getObject()), owner_);
        if (state_ == State::begun || state_ == State::finished) {
            throw bus_error(atv::ErrorKind::invalid_state,
                            "pairing has begun already; continue with Pin and Finish");
        }
        run_step(std::move(result), "Begin", [this] { return begin_step(); });
    });
}

asio::awaitable<void> PairingObject::begin_step() {
    try {
        co_await handler_->begin();
    } catch (...) {
        set_state(State::failed);
        throw;
    }
    pin_given_ = false;
    set_state(State::begun);
}

void PairingObject::Pin(sdbus::Result<>&& result, std::string pin) {
    guarded([&] {
        Authorization::require_owner(current_caller(getObject()), owner_);
        check_pin(pin);
        if (state_ == State::closed || state_ == State::finished) {
            throw bus_error(atv::ErrorKind::invalid_state,
                            "this pairing is over; create a new one with Device1.Pair");
        }
        handler_->pin(pin);
        pin_given_ = true;
        restart_idle_timer();
        result.returnResults();
    });
}

void PairingObject::Finish(sdbus::Result<>&& result) {
    guarded([&] {
        Authorization::require_owner(current_caller(getObject()), owner_);
        if (state_ != State::begun) {
            throw bus_error(atv::ErrorKind::invalid_state, state_ == State::finished
                                                               ? "pairing has finished already"
                                                               : "call Begin before Finish");
        }
        if (handler_->device_provides_pin() && !pin_given_) {
            throw bus_error(atv::ErrorKind::invalid_state,
                            "give the PIN shown on the device with Pin before Finish");
        }
        run_step(std::move(result), "Finish", [this] { return finish_step(); });
    });
}

asio::awaitable<void> PairingObject::finish_step() {
    try {
        co_await handler_->finish();
        if (!handler_->has_paired()) {
            throw atv::Error(atv::ErrorKind::pairing_failed, "the device did not complete pairing");
        }
        co_await hooks_.store_credentials(handler_->credentials());
    } catch (...) {
        set_state(State::failed);
        throw;
    }
    set_state(State::finished);
}

void PairingObject::Close(sdbus::Result<>&& result) {
    guarded([&] {
        Authorization::require_owner(current_caller(getObject()), owner_);
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this()]() { return self->shut_down(); });
    });
}

std::string PairingObject::Protocol() {
    return std::string(atv::to_string(handler_->protocol()));
}

std::string PairingObject::State() {
    switch (state_) {
        case State::created:
            return "created";
        case State::begun:
            return "begun";
        case State::finished:
            return "finished";
        case State::failed:
            return "failed";
        case State::closed:
            return "closed";
    }
    return "closed";
}

}  // namespace atvd
