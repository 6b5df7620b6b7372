// `atvctl monitor`: atvd's events, one line each, until interrupted.
#pragma once

#include "cli.hpp"
#include "client.hpp"

namespace atv::ctl {

int command_monitor(Client& client, const CommandLine& line);

}  // namespace atv::ctl
