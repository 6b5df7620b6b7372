// atvctl's commands for the device as a whole: power, apps, launch, accounts, switch-account
// and text (org.atvd.Power1, Apps1 and Keyboard1).
#pragma once

#include "cli.hpp"
#include "client.hpp"

namespace atv::ctl {

inline constexpr const char* power_interface = "org.atvd.Power1";
inline constexpr const char* apps_interface = "org.atvd.Apps1";
inline constexpr const char* keyboard_interface = "org.atvd.Keyboard1";

int command_power(Client& client, const CommandLine& line);
int command_apps(Client& client, const CommandLine& line);
int command_launch(Client& client, const CommandLine& line);
int command_accounts(Client& client, const CommandLine& line);
int command_switch_account(Client& client, const CommandLine& line);
int command_text(Client& client, const CommandLine& line);

}  // namespace atv::ctl
