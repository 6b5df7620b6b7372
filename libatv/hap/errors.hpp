// Errors an accessory reports in a pairing message (TLV Error 0x07, optional BackOff 0x08).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "atv/error.hpp"

namespace atv::hap {

class Tlv8;

enum class HapErrorCode : std::uint8_t {
    unknown = 1,
    authentication = 2,
    back_off = 3,
    max_peers = 4,
    max_tries = 5,
    unavailable = 6,
    busy = 7,
};

// Which exchange failed: decides the ErrorKind (pairing_failed or authentication_failed).
enum class HapStage : std::uint8_t { pair_setup, pair_verify };

std::string_view error_code_name(HapErrorCode code);

class HapError : public atv::Error {
  public:
    HapError(ErrorKind kind, HapErrorCode code, std::optional<std::chrono::seconds> back_off,
             const std::string& message)
        : atv::Error(kind, message, back_off), code_(code), back_off_(back_off) {}

    // The error the accessory sent in state `seq_no` of `stage`, with a message saying what to do.
    static HapError from_device(HapStage stage, std::uint8_t seq_no, std::uint8_t raw_code,
                                std::optional<std::chrono::seconds> back_off);

    [[nodiscard]] HapErrorCode code() const noexcept { return code_; }
    [[nodiscard]] std::optional<std::chrono::seconds> back_off() const noexcept {
        return back_off_;
    }

  private:
    HapErrorCode code_;
    std::optional<std::chrono::seconds> back_off_;
};

// Throws HapError when the message carries an Error item.
void throw_if_device_error(const Tlv8& message, HapStage stage, std::uint8_t seq_no);

// A wrong PIN is the one failure a person can fix right away: called while `error` is being
// handled, rethrows it as pairing_failed saying so plainly ("pairing <what> failed: ..."), and
// any other error as it is.
[[noreturn]] void rethrow_wrong_pin_plainly(const HapError& error, std::string_view what);

}  // namespace atv::hap
