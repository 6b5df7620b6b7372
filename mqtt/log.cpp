#include "log.hpp"

#include <cstdio>
#include <cstdlib>

namespace atvd::mqtt {

namespace {
Level threshold = Level::info;
bool journal = false;
}  // namespace

void set_log_level(const std::string& level) {
    journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (level == "debug") {
        threshold = Level::debug;
    } else if (level == "warning") {
        threshold = Level::warning;
    } else if (level == "error") {
        threshold = Level::error;
    } else if (level == "off") {
        threshold = Level::off;
    } else {
        threshold = Level::info;
    }
}

bool logging(Level level) {
    return level >= threshold && threshold != Level::off;
}

void log(Level level, const std::string& text) {
    if (!logging(level)) {
        return;
    }
    // sd-daemon(3) prefixes, so the journal keeps the priority of each line.
    static constexpr const char* prefixes[] = {"<7>", "<6>", "<4>", "<3>", ""};
    std::fprintf(stderr, "%s%s\n", journal ? prefixes[static_cast<int>(level)] : "", text.c_str());
}

}  // namespace atvd::mqtt
