// Logging of atvd: to stderr, or to the journal with structured fields.
//
// Lines about one device go through log_about(), which gives the journal ATVD_DEVICE and
// ATVD_PROTOCOL next to the message, so that `journalctl ATVD_DEVICE=...` finds everything
// about a device. Every other line is a plain spdlog call. No credential is ever a field.
#pragma once

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace atvd {

// Where log lines go: "auto" (the journal when stderr is connected to it), "journal", "stderr".
enum class LogTarget { automatic, journal, standard_error };

// The target named in atvd.conf or on the command line; nullopt for an unknown name.
std::optional<LogTarget> log_target_from_string(std::string_view name);

// What a log line is about. Empty parts are left out of the entry.
struct LogFields {
    std::string_view device;                  // ATVD_DEVICE: the device's main identifier
    std::vector<std::string_view> protocols;  // one ATVD_PROTOCOL field each
};

// Sends one journal entry given as "KEY=value" fields.
using JournalSender = std::function<void(const std::vector<std::string>& fields)>;

// The sender that writes to the journal's socket (sd_journal_sendv).
JournalSender sd_journal_sender();

// A sink that turns each line into a journal entry: PRIORITY, MESSAGE, SYSLOG_IDENTIFIER=atvd,
// CODE_FILE, CODE_LINE and CODE_FUNC when the line has a place, and the fields of log_about.
std::shared_ptr<spdlog::sinks::sink> make_journal_sink(JournalSender send);

// True when fd is the stream systemd connected to the journal: JOURNAL_STREAM ("DEV:INODE")
// names its device and inode. A redirected stderr keeps the variable but not the inode.
bool is_journal_stream(const char* journal_stream, int fd);

// Installs the default logger for target and level; called again on SIGHUP to change them.
void setup_logging(LogTarget target, const std::string& level);

// The format string of a log line with the place it is written at (CODE_FILE, CODE_LINE).
template <typename... Args>
struct Located {
    template <typename Text>
    consteval Located(const Text& text,
                      std::source_location where = std::source_location::current())
        : format(text), where(where) {}
    fmt::format_string<Args...> format;
    std::source_location where;
};

namespace detail {
void log_fields(spdlog::level::level_enum level, const LogFields& fields,
                const std::source_location& where, std::string_view message);
}  // namespace detail

// A log line about a device: in the journal it carries ATVD_DEVICE and ATVD_PROTOCOL.
template <typename... Args>
void log_about(spdlog::level::level_enum level, const LogFields& fields,
               Located<std::type_identity_t<Args>...> format, Args&&... args) {
    if (!spdlog::should_log(level)) {
        return;
    }
    detail::log_fields(level, fields, format.where,
                       fmt::format(format.format, std::forward<Args>(args)...));
}

}  // namespace atvd
