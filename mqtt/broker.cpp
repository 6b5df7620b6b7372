#include "broker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "log.hpp"

namespace atvd::mqtt {

namespace {

constexpr std::chrono::milliseconds first_delay{250};
constexpr std::chrono::milliseconds longest_delay{30000};
constexpr std::chrono::milliseconds misc_interval{1000};

std::string describe(int rc) {
    if (rc == MOSQ_ERR_ERRNO) {
        return mosquitto_strerror(rc) + std::string(" (") + std::strerror(errno) + ")";
    }
    return mosquitto_strerror(rc);
}

}  // namespace

Broker::Broker(const Options& options, Callbacks callbacks)
    : options_(options), callbacks_(std::move(callbacks)) {
    mosquitto_lib_init();
    // A persistent session (clean session off): the broker keeps our subscriptions and queues
    // the QoS 1 commands published while we are away, so none it acknowledged is lost.
    mosq_ = mosquitto_new(options.client_id.c_str(), false, this);
    if (mosq_ == nullptr) {
        throw std::runtime_error("cannot create the MQTT client");
    }
    mosquitto_connect_callback_set(mosq_, &Broker::on_connect);
    mosquitto_disconnect_callback_set(mosq_, &Broker::on_disconnect);
    mosquitto_message_callback_set(mosq_, &Broker::on_message);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // Small messages that matter now (a state change, an answer): no Nagle delay.
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    // Messages not yet acknowledged wait in libmosquitto's queue; this bounds what is on the
    // wire at once, not what is kept.
    mosquitto_max_inflight_messages_set(mosq_, 100);
    if (!options.username.empty()) {
        mosquitto_username_pw_set(mosq_, options.username.c_str(),
                                  options.password.empty() ? nullptr : options.password.c_str());
    }
    if (options.tls) {
        const int rc = mosquitto_tls_set(
            mosq_, options.ca_file.empty() ? nullptr : options.ca_file.c_str(),
            options.ca_path.empty() ? nullptr : options.ca_path.c_str(),
            options.cert_file.empty() ? nullptr : options.cert_file.c_str(),
            options.key_file.empty() ? nullptr : options.key_file.c_str(), nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            throw std::runtime_error("TLS settings refused: " + describe(rc));
        }
        // Always verify the broker's certificate and name.
        mosquitto_tls_opts_set(mosq_, 1, nullptr, nullptr);
        mosquitto_tls_insecure_set(mosq_, false);
    }
}

Broker::~Broker() {
    mosquitto_destroy(mosq_);
    mosquitto_lib_cleanup();
}

void Broker::will(const std::string& topic, const std::string& payload) {
    mosquitto_will_set(mosq_, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1,
                       true);
}

void Broker::start() {
    started_ = true;
    next_attempt_ = Clock::now();
    attempt();
}

void Broker::attempt() {
    // mosquitto resolves the broker's name here; with an address (the usual case for a house
    // broker) that is immediate, with a name it is the system resolver's lookup.
    const int rc = attempted_ ? mosquitto_reconnect_async(mosq_)
                              : mosquitto_connect_async(mosq_, options_.host.c_str(), options_.port,
                                                        options_.keepalive);
    attempted_ = true;
    if (rc != MOSQ_ERR_SUCCESS) {
        failed("cannot connect to " + options_.host + ":" + std::to_string(options_.port) + ": " +
               describe(rc));
        return;
    }
    waiting_ = true;
    next_misc_ = Clock::now() + misc_interval;
}

void Broker::failed(const std::string& why) {
    waiting_ = false;
    delay_ = delay_.count() == 0 ? first_delay : std::min(delay_ * 2, longest_delay);
    next_attempt_ = Clock::now() + delay_;
    log(Level::warning, why + "; trying again in " + std::to_string(delay_.count()) + " ms");
}

pollfd Broker::poll_entry() const {
    const int fd = mosquitto_socket(mosq_);
    if (fd < 0) {
        return {-1, 0, 0};
    }
    short events = POLLIN;
    if (mosquitto_want_write(mosq_)) {
        events |= POLLOUT;
    }
    return {fd, events, 0};
}

Broker::Clock::time_point Broker::deadline() const {
    if (!started_) {
        return Clock::time_point::max();
    }
    if (mosquitto_socket(mosq_) < 0) {
        return next_attempt_;
    }
    return next_misc_;
}

void Broker::run(short revents) {
    if (!started_) {
        return;
    }
    const auto now = Clock::now();
    if (mosquitto_socket(mosq_) < 0) {
        if (waiting_ || connected_) {
            // The socket went away without a callback (for instance a failed TLS handshake).
            on_disconnect(mosq_, this, MOSQ_ERR_CONN_LOST);
        }
        if (now >= next_attempt_) {
            attempt();
        }
        return;
    }
    int rc = MOSQ_ERR_SUCCESS;
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        rc = mosquitto_loop_read(mosq_, 1);
    }
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0 && (revents & POLLOUT)) {
        rc = mosquitto_loop_write(mosq_, 1);
    }
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0 && now >= next_misc_) {
        next_misc_ = now + misc_interval;
        rc = mosquitto_loop_misc(mosq_);
    }
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0) {
        if (waiting_ || connected_) {
            on_disconnect(mosq_, this, rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc);
        }
    }
}

bool Broker::publish(const std::string& topic, const void* data, std::size_t size, bool retain) {
    if (!connected_) {
        return false;
    }
    const int rc =
        mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(size), data, 1, retain);
    if (rc != MOSQ_ERR_SUCCESS) {
        log(Level::warning, "cannot publish to " + topic + ": " + describe(rc));
        return false;
    }
    return true;
}

bool Broker::subscribe(const std::string& pattern) {
    const int rc = mosquitto_subscribe(mosq_, nullptr, pattern.c_str(), 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        log(Level::warning, "cannot subscribe to " + pattern + ": " + describe(rc));
        return false;
    }
    return true;
}

void Broker::stop(std::chrono::milliseconds grace) {
    if (!started_) {
        return;
    }
    started_ = false;
    if (!connected_) {
        return;
    }
    connected_ = false;
    mosquitto_disconnect(mosq_);
    // Flush what is queued (the offline messages, the DISCONNECT) for a short while.
    const auto until = Clock::now() + grace;
    while (mosquitto_socket(mosq_) >= 0 && mosquitto_want_write(mosq_) && Clock::now() < until) {
        pollfd entry = poll_entry();
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (::poll(&entry, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0) {
            break;
        }
        if (mosquitto_loop_write(mosq_, 1) != MOSQ_ERR_SUCCESS) {
            break;
        }
    }
}

void Broker::on_connect(mosquitto*, void* self, int rc) {
    auto& broker = *static_cast<Broker*>(self);
    if (rc != 0) {
        // Refused (bad credentials, not authorised): mosquitto closes the socket afterwards.
        broker.connected_ = false;
        broker.failed("the broker refused the connection: " +
                      std::string(mosquitto_connack_string(rc)));
        return;
    }
    broker.waiting_ = false;
    broker.connected_ = true;
    broker.delay_ = std::chrono::milliseconds(0);
    log(Level::info,
        "connected to " + broker.options_.host + ":" + std::to_string(broker.options_.port));
    if (broker.callbacks_.connected) {
        broker.callbacks_.connected();
    }
}

void Broker::on_disconnect(mosquitto*, void* self, int rc) {
    auto& broker = *static_cast<Broker*>(self);
    const bool was_connected = broker.connected_;
    const bool was_waiting = broker.waiting_;
    broker.connected_ = false;
    if (!broker.started_) {
        return;
    }
    if (was_connected) {
        broker.failed("lost the broker: " + describe(rc));
        if (broker.callbacks_.lost) {
            broker.callbacks_.lost();
        }
    } else if (was_waiting) {
        broker.failed("cannot connect to " + broker.options_.host + ":" +
                      std::to_string(broker.options_.port) + ": " + describe(rc));
    }
}

void Broker::on_message(mosquitto*, void* self, const mosquitto_message* message) {
    auto& broker = *static_cast<Broker*>(self);
    if (broker.callbacks_.message && message != nullptr) {
        broker.callbacks_.message(*message);
    }
}

}  // namespace atvd::mqtt
