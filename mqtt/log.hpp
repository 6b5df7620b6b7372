// Log lines on stderr (the journal under systemd), filtered by level.
#pragma once

#include <string>

namespace atvd::mqtt {

enum class Level { debug, info, warning, error, off };

void set_log_level(const std::string& level);
bool logging(Level level);
void log(Level level, const std::string& text);

}  // namespace atvd::mqtt
