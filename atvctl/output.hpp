// Rendering of D-Bus values for people (text) and for scripts (JSON).
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <string>
#include <vector>

namespace atv::ctl {

using Properties = std::map<std::string, sdbus::Variant>;

// A JSON string literal, quotes included.
std::string json_quote(const std::string& text);

// The value as JSON; types atvd does not use are rendered as their signature in a string.
std::string variant_to_json(const sdbus::Variant& value);

// The value for a person: lists comma-separated, maps as key=value.
std::string variant_to_text(const sdbus::Variant& value);

// {"Key": value, ...} sorted by key, followed by `extra` members (already JSON, "k": v form).
std::string properties_to_json(const Properties& properties,
                               const std::vector<std::string>& extra = {});

}  // namespace atv::ctl
