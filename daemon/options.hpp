// Command-line options of atvd.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "context.hpp"
#include "logging.hpp"

namespace atvd {

enum class BusKind { system, user, address };

struct Options {
    BusKind bus = BusKind::system;
    std::string bus_address;
    std::filesystem::path state_dir;
    std::string log_level = "info";
    LogTarget log_target = LogTarget::automatic;
    Settings settings;
    std::filesystem::path config_file;  // the file read, or the default one looked for
    bool exit_now = false;              // --help or --version was answered, or there is a problem
    int exit_code = 0;
    std::string problem;  // why the options or the configuration file were refused
};

// Parses argv; prints help, version or the problem itself. The state folder defaults to
// $STATE_DIRECTORY (systemd) or /var/lib/atvd with --system, $XDG_STATE_HOME/atvd with --user.
Options parse_options(int argc, char** argv);

// Parses argv and the configuration file again, for SIGHUP: the same rules as at start-up, so
// the command line still wins. Prints nothing; a refused file leaves its reason in problem.
Options reparse_options(int argc, char** argv);

}  // namespace atvd
