// How long a device kept connected (Device1.AutoConnect) waits before it tries again: the first
// delay after a loss, doubling with every failure up to a ceiling, each spread by ±20 % so that
// devices lost together (a switch rebooting) do not all come back in the same instant.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace atvd {

class ReconnectDelay {
  public:
    using milliseconds = std::chrono::milliseconds;

    ReconnectDelay(milliseconds first, milliseconds longest, std::uint32_t seed)
        : first_(first), longest_(std::max(first, longest)), random_(seed) {}

    // The delay before the next attempt; every call doubles the one after it.
    milliseconds next() {
        const milliseconds base = nominal();
        if (failures_ < 32) {
            ++failures_;
        }
        std::uniform_real_distribution<double> spread(0.8, 1.2);
        const auto jittered =
            static_cast<milliseconds::rep>(static_cast<double>(base.count()) * spread(random_));
        return milliseconds(std::max<milliseconds::rep>(jittered, 1));
    }

    // The delay next() would spread, for logs and tests.
    [[nodiscard]] milliseconds nominal() const {
        milliseconds delay = first_;
        for (std::uint32_t i = 0; i < failures_ && delay < longest_; ++i) {
            delay *= 2;
        }
        return std::min(delay, longest_);
    }

    // After a connection that lasted, the next loss starts again from the first delay.
    void reset() { failures_ = 0; }

    void configure(milliseconds first, milliseconds longest) {
        first_ = first;
        longest_ = std::max(first, longest);
    }

  private:
    milliseconds first_;
    milliseconds longest_;
    std::uint32_t failures_ = 0;
    std::minstd_rand random_;
};

}  // namespace atvd
