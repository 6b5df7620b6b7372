// What callers send to Power1, Apps1 and Keyboard1 and what those return, without the bus, so
// that tests can call it. Every check throws sdbus::Error org.atvd.Error.InvalidArguments with a
// message naming the argument and, for a bound, the bound.
#pragma once

#include <sdbus-c++/Types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "atv/control.hpp"

namespace atvd {

// Launch's app: a bundle id or a URL, not empty.
inline constexpr std::size_t max_app_bytes = 4096;
// SwitchAccount's identifier, not empty.
inline constexpr std::size_t max_account_bytes = 1024;
// SetText's and AppendText's text; a text field holds far less, and a caller must not make the
// daemon carry megabytes to the device.
inline constexpr std::size_t max_text_bytes = 64 * 1024;

const std::string& app_argument(const std::string& app);
const std::string& account_argument(const std::string& identifier);
const std::string& text_argument(const std::string& text);

// ListApps' and ListAccounts' (identifier, name) pairs, in the device's order, as valid UTF-8.
using NamedItemList = std::vector<sdbus::Struct<std::string, std::string>>;
NamedItemList named_item_list(const std::vector<atv::NamedItem>& items);

}  // namespace atvd
