// TXT rdata and Avahi string lists from the network: parsing never fails, never reads out of
// bounds, always yields valid UTF-8 within the 64 KiB bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "atv/discovery.hpp"
#include "discovery/device_rules.hpp"
#include "discovery/txt.hpp"

namespace {

void check(const atv::Properties& properties) {
    std::size_t total = 0;
    for (const auto& [key, value] : properties) {
        total += key.size() + 1 + value.size();
        if (key.empty() || !atv::discovery::is_valid_utf8(value)) {
            std::abort();
        }
    }
    // Replacement characters may grow a value (1 byte → 3), never beyond three times.
    if (total > 3 * atv::discovery::max_txt_record_size) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const atv::ByteView input(data, size);
    const atv::Properties properties = atv::discovery::parse_txt_rdata(input);
    check(properties);

    // The same bytes as an Avahi list, one entry per 0-separated chunk.
    AvahiStringList* list = nullptr;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= size; ++i) {
        if (i == size || data[i] == 0) {
            list = avahi_string_list_add_arbitrary(list, data + start, i - start);
            start = i + 1;
        }
    }
    check(atv::discovery::parse_txt_strings(list));
    avahi_string_list_free(list);

    // The rules read these properties; they must cope with anything.
    atv::DeviceConfig config;
    for (atv::Protocol protocol : atv::all_protocols) {
        atv::ServiceConfig service;
        service.protocol = protocol;
        service.properties = properties;
        config.services.push_back(service);
    }
    atv::complete_device_config(config);
    return 0;
}
