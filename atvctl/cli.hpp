// Command-line parsing for atvctl: global options, command, positionals, command options.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace atv::ctl {

// A command line that cannot be run (exit code 2).
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class BusKind { system, user, address };

struct CommandLine {
    std::string command;
    std::vector<std::string> arguments;
    std::map<std::string, std::string> options;  // command options, without leading dashes
    bool json = false;
    bool help = false;
    bool version = false;
    BusKind bus = BusKind::system;
    std::string bus_address;

    std::optional<std::string> option(const std::string& name) const;
};

// Throws UsageError for unknown options, missing values and wrong argument counts.
CommandLine parse_command_line(const std::vector<std::string>& args);

// "a,b,c" -> {"a", "b", "c"}; empty items are refused.
std::vector<std::string> split_list(const std::string& text, const std::string& option);

extern const char* const usage_text;

}  // namespace atv::ctl
