// The AirPlay features bits (TXT "ft", else "features": "0xLLLLLLLL" or
// "0xLLLLLLLL,0xHHHHHHHH", the second word the upper 32 bits) that decide how to pair.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "atv/device.hpp"

namespace atv::airplay {

namespace feature {
inline constexpr std::uint64_t unified_media_control = 1ULL << 38;
inline constexpr std::uint64_t system_pairing = 1ULL << 43;
inline constexpr std::uint64_t core_utils_pairing = 1ULL << 48;
}  // namespace feature

// nullopt when the text is not one or two hex words.
std::optional<std::uint64_t> parse_features(std::string_view text);
// From a service's TXT record; 0 when absent or malformed.
std::uint64_t features_of(const Properties& properties);

// AirPlay 2 receivers pair with HAP; older ones with legacy pairing (protocols.md §5.1).
bool uses_hap_pairing(std::uint64_t features);
// Transient pairing (PIN 3939) is possible without stored credentials (protocols.md §3.9).
bool supports_transient_pairing(std::uint64_t features);

}  // namespace atv::airplay
