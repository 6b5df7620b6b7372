// A sequence of untrusted MRP messages merged into the now-playing state: whatever arrives, the
// state stays within its bounds and what it shows is valid, bounded UTF-8. Input: messages as
// 2-byte LE length-prefixed ProtocolMessages (hap/fuzz_input.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../hap/fuzz_input.hpp"
#include "mrp/messages.hpp"
#include "mrp/player_state.hpp"

namespace {

bool valid_text(std::string_view text, std::size_t max_bytes) {
    return text.size() <= max_bytes && atv::mrp::PlayerState::sanitize(text, max_bytes + 1) == text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    atv::mrp::PlayerStateLimits limits;
    limits.max_clients = 4;
    limits.max_players_per_client = 4;
    limits.max_string_bytes = 64;
    atv::mrp::PlayerState state(limits);
    for (const atv::ByteView bytes : atv::hap::fuzz::split_messages(data, size)) {
        const auto message = atv::mrp::parse(bytes);
        if (!message) {
            continue;
        }
        const atv::NowPlaying before = state.now_playing();
        const auto changes = state.handle(*message);
        if (changes.now_playing == (before == state.now_playing())) {
            __builtin_trap();  // a change is reported exactly when there is one
        }
        const atv::NowPlaying& playing = state.now_playing();
        if (state.client_count() > limits.max_clients ||
            state.player_count() > limits.max_clients * limits.max_players_per_client ||
            !valid_text(playing.title, limits.max_string_bytes) ||
            !valid_text(playing.artist, limits.max_string_bytes) ||
            !valid_text(playing.app, limits.max_string_bytes) ||
            !valid_text(playing.artwork_identifier, limits.max_string_bytes) ||
            playing.duration.count() < 0 || playing.position.count() < 0 ||
            state.features().size() != atv::feature_count) {
            __builtin_trap();
        }
        if (const auto volume = state.volume(); volume && (*volume < 0 || *volume > 100)) {
            __builtin_trap();
        }
    }
    return 0;
}
