#include "discovery/txt.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "atv/discovery.hpp"

namespace atv::discovery {

namespace {

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower_ascii(std::string_view text) {
    std::string lowered(text);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), ascii_lower);
    return lowered;
}

bool is_ascii_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(),
                                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Length of the valid UTF-8 sequence starting at text[pos], or 0 when it is not valid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(pos);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            low = 0xA0;  // overlong
        if (lead == 0xED)
            high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            low = 0x90;  // overlong
        if (lead == 0xF4)
            high = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (pos + length > text.size()) {
        return 0;
    }
    if (byte(pos + 1) < low || byte(pos + 1) > high) {
        return 0;
    }
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) {
            return 0;
        }
    }
    return length;
}

std::string replace_invalid_utf8(std::string_view text) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string result;
    result.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t length = utf8_sequence_length(text, pos);
        if (length == 0) {
            result += replacement;
            ++pos;
        } else {
            result.append(text.substr(pos, length));
            pos += length;
        }
    }
    return result;
}

// Adds entries while tracking lower-cased keys so duplicates cost O(1) each.
class TxtBuilder {
  public:
    void add(ByteView entry) {
        if (consumed_ + entry.size() > max_txt_record_size) {
            full_ = true;
            return;
        }
        consumed_ += entry.size() + 1;
        const auto* begin = reinterpret_cast<const char*>(entry.data());
        const std::string_view text(begin, entry.size());
        const std::size_t equals = text.find('=');
        const std::string_view key = text.substr(0, equals);
        if (!is_ascii_key(key) || !seen_.insert(lower_ascii(key)).second) {
            return;
        }
        const ByteView value =
            equals == std::string_view::npos ? ByteView{} : entry.subspan(equals + 1);
        properties_.emplace(std::string(key), decode_txt_value(value));
    }
    [[nodiscard]] bool full() const { return full_; }
    Properties take() { return std::move(properties_); }

  private:
    Properties properties_;
    std::unordered_set<std::string> seen_;
    std::size_t consumed_ = 0;
    bool full_ = false;
};

}  // namespace

std::string to_valid_utf8(std::string_view text) {
    return is_valid_utf8(text) ? std::string(text) : replace_invalid_utf8(text);
}

bool is_valid_utf8(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t length = utf8_sequence_length(text, pos);
        if (length == 0) {
            return false;
        }
        pos += length;
    }
    return true;
}

std::string decode_txt_value(ByteView value) {
    std::string text;
    text.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const bool nbsp_pair =
            i + 1 < value.size() && value[i + 1] == 0xA0 && (value[i] == 0xC2 || value[i] == 0x00);
        if (nbsp_pair) {
            text += ' ';
            ++i;
        } else {
            text += static_cast<char>(value[i]);
        }
    }
    return is_valid_utf8(text) ? text : replace_invalid_utf8(text);
}

bool add_txt_entry(Properties& properties, ByteView entry) {
    const auto* begin = reinterpret_cast<const char*>(entry.data());
    const std::string_view text(begin, entry.size());
    const std::size_t equals = text.find('=');
    const std::string_view key = text.substr(0, equals);
    if (!is_ascii_key(key) || get_property(properties, key).has_value()) {
        return false;
    }
    const ByteView value =
        equals == std::string_view::npos ? ByteView{} : entry.subspan(equals + 1);
    properties.emplace(std::string(key), decode_txt_value(value));
    return true;
}

Properties parse_txt_rdata(ByteView rdata) {
    TxtBuilder builder;
    std::size_t pos = 0;
    while (pos < rdata.size() && !builder.full()) {
        const std::size_t length = rdata[pos];
        if (pos + 1 + length > rdata.size()) {
            break;
        }
        if (length > 0) {
            builder.add(rdata.subspan(pos + 1, length));
        }
        pos += 1 + length;
    }
    return builder.take();
}

Properties parse_txt_strings(const AvahiStringList* list) {
    TxtBuilder builder;
    for (const AvahiStringList* item = list; item != nullptr && !builder.full();
         item = item->next) {
        const std::size_t size = std::min<std::size_t>(item->size, 255);
        if (size > 0) {
            builder.add(ByteView(item->text, size));
        }
    }
    return builder.take();
}

}  // namespace atv::discovery

namespace atv {

std::optional<std::string_view> get_property(const Properties& properties, std::string_view key) {
    const auto same_ignoring_case = [](char a, char b) {
        const auto lower = [](char c) {
            return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        };
        return lower(a) == lower(b);
    };
    for (const auto& [name, value] : properties) {
        if (name.size() == key.size() &&
            std::equal(name.begin(), name.end(), key.begin(), same_ignoring_case)) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace atv
