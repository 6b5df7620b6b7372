#include "logging.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
// sd_journal_sendv() would add this file's own CODE_FILE and CODE_LINE to every entry.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace atvd {

namespace {

// The fields of the log_about() call in progress. Sinks run inside the spdlog call, on the
// same thread, so a line sees exactly the fields it was logged with.
thread_local const LogFields* current_fields = nullptr;

int syslog_priority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
        case spdlog::level::debug:
            return 7;
        case spdlog::level::info:
            return 6;
        case spdlog::level::warn:
            return 4;
        case spdlog::level::err:
            return 3;
        case spdlog::level::critical:
            return 2;
        default:
            return 6;
    }
}

class JournalSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
  public:
    explicit JournalSink(JournalSender send) : send_(std::move(send)) {}

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::vector<std::string> fields;
        fields.push_back("PRIORITY=" + std::to_string(syslog_priority(msg.level)));
        fields.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
        fields.emplace_back("SYSLOG_IDENTIFIER=atvd");
        if (!msg.source.empty()) {
            fields.push_back(std::string("CODE_FILE=") + msg.source.filename);
            fields.push_back("CODE_LINE=" + std::to_string(msg.source.line));
            if (msg.source.funcname != nullptr && *msg.source.funcname) {
                fields.push_back(std::string("CODE_FUNC=") + msg.source.funcname);
            }
        }
        if (current_fields != nullptr) {
            add_fields(fields, *current_fields);
        }
        send_(fields);
    }

    void flush_() override {}

  private:
    static void add_fields(std::vector<std::string>& fields, const LogFields& about) {
        if (!about.device.empty()) {
            fields.push_back("ATVD_DEVICE=" + std::string(about.device));
        }
        for (std::string_view protocol : about.protocols) {
            fields.push_back("ATVD_PROTOCOL=" + std::string(protocol));
        }
    }

    JournalSender send_;
};

std::string spdlog_level_name(const std::string& level) {
    return level == "warning" ? "warn" : level;
}

}  // namespace

std::optional<LogTarget> log_target_from_string(std::string_view name) {
    if (name == "auto") {
        return LogTarget::automatic;
    }
    if (name == "journal") {
        return LogTarget::journal;
    }
    if (name == "stderr") {
        return LogTarget::standard_error;
    }
    return std::nullopt;
}

JournalSender sd_journal_sender() {
    return [](const std::vector<std::string>& fields) {
        std::vector<iovec> parts;
        parts.reserve(fields.size());
        for (const std::string& field : fields) {
            parts.push_back(iovec{const_cast<char*>(field.data()), field.size()});
        }
        // Nothing useful can be done when the journal is gone; the line is lost like on a
        // closed stderr.
        sd_journal_sendv(parts.data(), static_cast<int>(parts.size()));
    };
}

std::shared_ptr<spdlog::sinks::sink> make_journal_sink(JournalSender send) {
    return std::make_shared<JournalSink>(std::move(send));
}

bool is_journal_stream(const char* journal_stream, int fd) {
    if (journal_stream == nullptr) {
        return false;
    }
    unsigned long long device = 0;
    unsigned long long inode = 0;
    char rest = 0;
    if (std::sscanf(journal_stream, "%llu:%llu%c", &device, &inode, &rest) != 2) {
        return false;
    }
    struct stat info {};
    return fstat(fd, &info) == 0 && static_cast<unsigned long long>(info.st_dev) == device &&
           static_cast<unsigned long long>(info.st_ino) == inode;
}

void setup_logging(LogTarget target, const std::string& level) {
    const bool journal = target == LogTarget::journal ||
                         (target == LogTarget::automatic &&
                          is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO));
    std::shared_ptr<spdlog::logger> logger;
    if (journal) {
        logger = std::make_shared<spdlog::logger>("atvd", make_journal_sink(sd_journal_sender()));
    } else {
        logger = std::make_shared<spdlog::logger>(
            "atvd", std::make_shared<spdlog::sinks::stderr_color_sink_st>());
        logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
    }
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(spdlog_level_name(level)));
}

namespace detail {

void log_fields(spdlog::level::level_enum level, const LogFields& fields,
                const std::source_location& where, std::string_view message) {
    current_fields = &fields;
    spdlog::default_logger_raw()->log(
        spdlog::source_loc{where.file_name(), static_cast<int>(where.line()),
                           where.function_name()},
        level, message);
    current_fields = nullptr;
}

}  // namespace detail

}  // namespace atvd
