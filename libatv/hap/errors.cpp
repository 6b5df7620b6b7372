#include "hap/errors.hpp"

#include "hap/tlv8.hpp"

namespace atv::hap {

std::string_view error_code_name(HapErrorCode code) {
    switch (code) {
        case HapErrorCode::unknown:
            return "Unknown";
        case HapErrorCode::authentication:
            return "Authentication";
        case HapErrorCode::back_off:
            return "BackOff";
        case HapErrorCode::max_peers:
            return "MaxPeers";
        case HapErrorCode::max_tries:
            return "MaxTries";
        case HapErrorCode::unavailable:
            return "Unavailable";
        case HapErrorCode::busy:
            return "Busy";
    }
    return "Unknown";
}

namespace {

std::string describe(HapStage stage, std::uint8_t seq_no, HapErrorCode code,
                     std::optional<std::chrono::seconds> back_off) {
    const bool setup = stage == HapStage::pair_setup;
    switch (code) {
        case HapErrorCode::authentication:
            if (setup && seq_no == 4) {
                return "the device rejected the PIN: it was wrong, start pairing again and "
                       "enter the PIN shown on the device";
            }
            return setup ? "the device rejected this pairing (authentication failed)"
                         : "the device does not accept these credentials: pair again";
        case HapErrorCode::back_off:
            if (!back_off) {
                return "the device refuses pairing attempts for now: wait a while and try again";
            }
            return "the device refuses pairing attempts for now: wait " +
                   std::to_string(back_off->count()) + " seconds and try again";
        case HapErrorCode::max_peers:
            return "the device cannot store more pairings: remove one on the device first";
        case HapErrorCode::max_tries:
            return "too many failed pairing attempts: restart the device before trying again";
        case HapErrorCode::unavailable:
            return "the device does not accept a new pairing (it is already paired with "
                   "another controller)";
        case HapErrorCode::busy:
            return "the device is busy pairing with someone else: try again shortly";
        case HapErrorCode::unknown:
            break;
    }
    return std::string(setup ? "pairing" : "verification") +
           " failed: the device reported an unknown error in step M" + std::to_string(seq_no);
}

}  // namespace

HapError HapError::from_device(HapStage stage, std::uint8_t seq_no, std::uint8_t raw_code,
                               std::optional<std::chrono::seconds> back_off) {
    const auto code = raw_code >= 1 && raw_code <= 7 ? static_cast<HapErrorCode>(raw_code)
                                                     : HapErrorCode::unknown;
    ErrorKind kind = stage == HapStage::pair_setup ? ErrorKind::pairing_failed
                                                   : ErrorKind::authentication_failed;
    if (code == HapErrorCode::back_off) {
        kind = ErrorKind::back_off;
    }
    return HapError(kind, code, code == HapErrorCode::back_off ? back_off : std::nullopt,
                    describe(stage, seq_no, code, back_off));
}

void throw_if_device_error(const Tlv8& message, HapStage stage, std::uint8_t seq_no) {
    const auto raw_code = message.get(TlvType::error);
    if (!raw_code) {
        return;
    }
    std::optional<std::chrono::seconds> back_off;
    if (const auto seconds = message.get_uint(TlvType::back_off)) {
        back_off = std::chrono::seconds(static_cast<std::int64_t>(*seconds));
    }
    const std::uint8_t code = raw_code->empty() ? 1 : (*raw_code)[0];
    throw HapError::from_device(stage, seq_no, code, back_off);
}

void rethrow_wrong_pin_plainly(const HapError& error, std::string_view what) {
    if (error.code() == HapErrorCode::authentication) {
        throw Error(ErrorKind::pairing_failed,
                    "pairing " + std::string(what) +
                        " failed: the PIN was wrong; start pairing again and enter the PIN shown "
                        "on the TV");
    }
    throw;
}

}  // namespace atv::hap
