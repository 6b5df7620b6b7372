// The words of a script line (README.md) and its KEY=VALUE words, shared by the fake's media,
// DMAP and Companion sides so that quoting works the same on every line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atv::fakes {

// "a b=\"c d\" e" as words; double quotes group, a backslash escapes inside them. nullopt when
// a quote is not closed.
inline std::optional<std::vector<std::string>> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    bool quoted = false;
    for (std::size_t at = 0; at < line.size(); ++at) {
        const char c = line[at];
        if (quoted && c == '\\' && at + 1 < line.size()) {
            word += line[++at];
        } else if (c == '"') {
            quoted = !quoted;
            in_word = true;
        } else if (!quoted && (c == ' ' || c == '\t' || c == '\r')) {
            if (in_word)
                words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quoted)
        return std::nullopt;
    if (in_word)
        words.push_back(std::move(word));
    return words;
}

struct KeyValue {
    std::string key;
    std::string value;
};

// "key=value" split at its first '='; nullopt without one or with an empty key.
inline std::optional<KeyValue> key_value(const std::string& word) {
    const auto equals = word.find('=');
    if (equals == std::string::npos || equals == 0)
        return std::nullopt;
    return KeyValue{word.substr(0, equals), word.substr(equals + 1)};
}

}  // namespace atv::fakes
