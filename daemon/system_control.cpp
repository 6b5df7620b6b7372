#include "system_control.hpp"

#include "bus_errors.hpp"
#include "player_state.hpp"

namespace atvd {

namespace {

// Refuses an empty `value` or one longer than `bound` bytes.
const std::string& bounded(const std::string& value, const char* what, std::size_t bound) {
    if (value.empty()) {
        throw bus_error(atv::ErrorKind::invalid_arguments, std::string(what) + " is empty");
    }
    if (value.size() > bound) {
        throw bus_error(atv::ErrorKind::invalid_arguments, std::string(what) + " is longer than " +
                                                               std::to_string(bound) + " bytes (" +
                                                               std::to_string(value.size()) + ")");
    }
    return value;
}

}  // namespace

const std::string& app_argument(const std::string& app) {
    return bounded(app, "the app", max_app_bytes);
}

const std::string& account_argument(const std::string& identifier) {
    return bounded(identifier, "the account identifier", max_account_bytes);
}

const std::string& text_argument(const std::string& text) {
    if (text.size() > max_text_bytes) {
        throw bus_error(atv::ErrorKind::invalid_arguments,
                        "the text is longer than " + std::to_string(max_text_bytes) + " bytes (" +
                            std::to_string(text.size()) + ")");
    }
    return text;
}

NamedItemList named_item_list(const std::vector<atv::NamedItem>& items) {
    NamedItemList list;
    list.reserve(items.size());
    for (const atv::NamedItem& item : items) {
        list.emplace_back(valid_utf8(item.identifier), valid_utf8(item.name));
    }
    return list;
}

}  // namespace atvd
