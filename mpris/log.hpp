// A few log lines to stderr (the journal under systemd), "{}" replaced by the arguments in
// order. atvd-mpris runs in every desktop session: a logging library would cost each one
// more resident memory than the whole bridge needs.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

namespace atvd::mpris::log {

enum class Level { debug, info, warn, error };

inline Level& threshold() {
    static Level level = Level::info;
    return level;
}

inline std::string text(std::string_view value) {
    return std::string(value);
}
inline std::string text(const char* value) {
    return value;
}
inline std::string text(const std::string& value) {
    return value;
}
template <typename T>
requires std::is_arithmetic_v<T> std::string text(T value) {
    return std::to_string(value);
}

template <typename... Args>
void write(Level level, std::string_view format, const Args&... args) {
    if (level < threshold()) {
        return;
    }
    static constexpr const char* names[] = {"debug", "info", "warning", "error"};
    std::string line = std::string("atvd-mpris ") + names[static_cast<int>(level)] + ": ";
    const std::string values[] = {text(args)..., std::string{}};
    std::size_t next = 0;
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (format.compare(i, 2, "{}") == 0 && next < sizeof...(Args)) {
            line += values[next++];
            ++i;
        } else {
            line += format[i];
        }
    }
    line += '\n';
    std::fputs(line.c_str(), stderr);
}

template <typename... Args>
void debug(std::string_view format, const Args&... args) {
    write(Level::debug, format, args...);
}
template <typename... Args>
void info(std::string_view format, const Args&... args) {
    write(Level::info, format, args...);
}
template <typename... Args>
void warn(std::string_view format, const Args&... args) {
    write(Level::warn, format, args...);
}
template <typename... Args>
void error(std::string_view format, const Args&... args) {
    write(Level::error, format, args...);
}

}  // namespace atvd::mpris::log
