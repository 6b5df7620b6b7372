// Command-line options of atvd.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "context.hpp"

namespace atvd {

enum class BusKind { system, user, address };

struct Options {
    BusKind bus = BusKind::system;
    std::string bus_address;
    std::filesystem::path state_dir;
    std::string log_level = "info";
    Settings settings;
    bool exit_now = false;  // --help or --version was answered
    int exit_code = 0;
};

// Parses argv; prints help, version or the problem itself. The state folder defaults to
// $STATE_DIRECTORY (systemd) or /var/lib/atvd with --system, $XDG_STATE_HOME/atvd with --user.
Options parse_options(int argc, char** argv);

}  // namespace atvd
