#include "airplay/features.hpp"

#include <charconv>

namespace atv::airplay {

namespace {

std::optional<std::uint32_t> parse_word(std::string_view text) {
    if (text.size() < 3 || text.size() > 10 || text[0] != '0' ||
        (text[1] != 'x' && text[1] != 'X')) {
        return std::nullopt;
    }
    text.remove_prefix(2);
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

}  // namespace

std::optional<std::uint64_t> parse_features(std::string_view text) {
    const auto comma = text.find(',');
    const auto low = parse_word(text.substr(0, comma));
    if (!low)
        return std::nullopt;
    if (comma == std::string_view::npos)
        return *low;
    const auto high = parse_word(text.substr(comma + 1));
    if (!high)
        return std::nullopt;
    return (std::uint64_t{*high} << 32) | *low;
}

std::uint64_t features_of(const Properties& properties) {
    for (const char* key : {"ft", "features"}) {
        const auto found = properties.find(key);
        if (found != properties.end())
            return parse_features(found->second).value_or(0);
    }
    return 0;
}

bool uses_hap_pairing(std::uint64_t features) {
    return (features & (feature::unified_media_control | feature::core_utils_pairing)) != 0;
}

bool supports_transient_pairing(std::uint64_t features) {
    return (features & (feature::system_pairing | feature::core_utils_pairing)) != 0;
}

}  // namespace atv::airplay
