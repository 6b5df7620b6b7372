// Untrusted bytes as a play status (cmst) through what DMAP control reads of it: what is playing
// and the features. Strings must come out valid UTF-8 and bounded, numbers sane.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"
#include "dmap/control.hpp"
#include "dmap/tags.hpp"

namespace {

bool valid_utf8(const std::string& text) {
    std::size_t at = 0;
    while (at < text.size()) {
        const auto lead = static_cast<unsigned char>(text[at]);
        const std::size_t length = lead < 0x80           ? 1
                                   : (lead >> 5) == 0x6  ? 2
                                   : (lead >> 4) == 0xe  ? 3
                                   : (lead >> 3) == 0x1e ? 4
                                                         : 0;
        if (length == 0 || at + length > text.size())
            return false;
        for (std::size_t i = 1; i < length; ++i) {
            if ((static_cast<unsigned char>(text[at + i]) >> 6) != 0x2)
                return false;
        }
        at += length;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto status = atv::dmap::decode_one(atv::ByteView(data, size), "cmst");
        const auto playing = atv::dmap::now_playing_from(status, std::chrono::system_clock::now());
        for (const std::string* text :
             {&playing.title, &playing.artist, &playing.album, &playing.genre}) {
            if (!valid_utf8(*text) || text->size() > 64 * 1024) {
                __builtin_trap();
            }
        }
        if (playing.duration.count() < 0 || playing.position.count() < 0 ||
            !std::isfinite(playing.rate)) {
            __builtin_trap();
        }
        const auto features = atv::dmap::features_from(status);
        if (features.size() != atv::feature_count) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
