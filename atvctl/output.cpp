#include "output.hpp"

#include <cstdio>
#include <sstream>

namespace atv::ctl {

std::string json_quote(const std::string& text) {
    std::string quoted = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"':
                quoted += "\\\"";
                break;
            case '\\':
                quoted += "\\\\";
                break;
            case '\n':
                quoted += "\\n";
                break;
            case '\r':
                quoted += "\\r";
                break;
            case '\t':
                quoted += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    quoted += escaped;
                } else {
                    quoted += static_cast<char>(c);
                }
        }
    }
    return quoted + "\"";
}

namespace {

std::string join_json(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i ? ", " : "") + json_quote(items[i]);
    }
    return out + "]";
}

template <typename Number>
std::string number(const sdbus::Variant& value) {
    return std::to_string(value.get<Number>());
}

std::vector<std::string> object_paths(const sdbus::Variant& value) {
    std::vector<std::string> paths;
    for (const auto& path : value.get<std::vector<sdbus::ObjectPath>>()) {
        paths.push_back(path);
    }
    return paths;
}

}  // namespace

std::string variant_to_json(const sdbus::Variant& value) {
    const std::string type = value.peekValueType();
    if (type == "s")
        return json_quote(value.get<std::string>());
    if (type == "o")
        return json_quote(value.get<sdbus::ObjectPath>());
    if (type == "b")
        return value.get<bool>() ? "true" : "false";
    if (type == "y")
        return std::to_string(unsigned{value.get<std::uint8_t>()});
    if (type == "q")
        return number<std::uint16_t>(value);
    if (type == "n")
        return number<std::int16_t>(value);
    if (type == "u")
        return number<std::uint32_t>(value);
    if (type == "i")
        return number<std::int32_t>(value);
    if (type == "t")
        return number<std::uint64_t>(value);
    if (type == "x")
        return number<std::int64_t>(value);
    if (type == "as")
        return join_json(value.get<std::vector<std::string>>());
    if (type == "ao")
        return join_json(object_paths(value));
    if (type == "a{ss}") {
        std::string out = "{";
        bool first = true;
        for (const auto& [key, text] : value.get<std::map<std::string, std::string>>()) {
            out += (first ? "" : ", ") + json_quote(key) + ": " + json_quote(text);
            first = false;
        }
        return out + "}";
    }
    if (type == "a{sv}")
        return properties_to_json(value.get<Properties>());
    return json_quote("<" + type + ">");
}

std::string variant_to_text(const sdbus::Variant& value) {
    const std::string type = value.peekValueType();
    if (type == "s")
        return value.get<std::string>();
    if (type == "o")
        return value.get<sdbus::ObjectPath>();
    if (type == "b")
        return value.get<bool>() ? "yes" : "no";
    auto join = [](const std::vector<std::string>& items) {
        std::string out;
        for (const auto& item : items) {
            out += (out.empty() ? "" : ", ") + item;
        }
        return out;
    };
    if (type == "as")
        return join(value.get<std::vector<std::string>>());
    if (type == "ao")
        return join(object_paths(value));
    if (type == "a{ss}") {
        std::vector<std::string> pairs;
        for (const auto& [key, text] : value.get<std::map<std::string, std::string>>()) {
            pairs.push_back(key + "=" + text);
        }
        return join(pairs);
    }
    return variant_to_json(value);
}

std::string properties_to_json(const Properties& properties,
                               const std::vector<std::string>& extra) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : properties) {
        out += (first ? "" : ", ") + json_quote(key) + ": " + variant_to_json(value);
        first = false;
    }
    for (const auto& member : extra) {
        out += (first ? "" : ", ") + member;
        first = false;
    }
    return out + "}";
}

}  // namespace atv::ctl
