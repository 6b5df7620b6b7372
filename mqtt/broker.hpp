// The connection to the MQTT broker, driven by the program's poll loop: libmosquitto's socket
// is watched by the loop and mosquitto_loop_read/write/misc run when it is ready, so every
// callback runs on the loop's thread. Reconnects with back-off while the broker is away.
#pragma once

#include <mosquitto.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <string>

#include "options.hpp"

namespace atvd::mqtt {

class Broker {
  public:
    using Clock = std::chrono::steady_clock;

    struct Callbacks {
        std::function<void()> connected;  // a session is up (CONNACK accepted)
        std::function<void()> lost;       // it ended
        std::function<void(const mosquitto_message&)> message;
    };

    Broker(const Options& options, Callbacks callbacks);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    // Sets the last will: `payload` retained on `topic` when the broker loses us.
    void will(const std::string& topic, const std::string& payload);
    // Starts connecting; failures are retried with back-off.
    void start();

    [[nodiscard]] bool connected() const { return connected_; }
    bool publish(const std::string& topic, const void* data, std::size_t size, bool retain);
    bool publish(const std::string& topic, const std::string& payload, bool retain) {
        return publish(topic, payload.data(), payload.size(), retain);
    }
    bool subscribe(const std::string& pattern);

    // For the poll loop: the descriptor (-1 when none) and what to wait for, the time by which
    // run() must be called again, and run() with what poll() reported.
    [[nodiscard]] pollfd poll_entry() const;
    [[nodiscard]] Clock::time_point deadline() const;
    void run(short revents);

    // Publishes nothing more; sends DISCONNECT and flushes what it can without blocking long.
    void stop(std::chrono::milliseconds grace);

  private:
    static void on_connect(mosquitto*, void* self, int rc);
    static void on_disconnect(mosquitto*, void* self, int rc);
    static void on_message(mosquitto*, void* self, const mosquitto_message* message);
    void attempt();
    void failed(const std::string& why);

    const Options& options_;
    Callbacks callbacks_;
    mosquitto* mosq_ = nullptr;
    bool started_ = false;
    bool connected_ = false;
    bool attempted_ = false;  // connect() was called once: later ones are reconnects
    bool waiting_ = false;    // a connection attempt is in progress (socket open)
    Clock::time_point next_attempt_{};
    Clock::time_point next_misc_{};
    std::chrono::milliseconds delay_{0};
};

}  // namespace atvd::mqtt
