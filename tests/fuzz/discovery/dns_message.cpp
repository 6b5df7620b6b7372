// DNS replies from the network: decoding is strict and bounded; whatever decodes can be
// turned into services and fed to a host scan without harm.
#include "discovery/dns_message.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "discovery/unicast_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const atv::ByteView input(data, size);
    std::string error;
    const auto message = atv::discovery::dns::decode(input, &error);
    if (!message) {
        if (error.empty()) {
            std::abort();  // every rejection says why
        }
    } else {
        for (const auto& service : atv::discovery::dns::parse_services(*message)) {
            if (service.kind == atv::discovery::ServiceKind::mrp && service.full_name.empty()) {
                std::abort();
            }
        }
        try {
            (void)atv::discovery::dns::encode(*message);
        } catch (const std::exception&) {
            std::abort();  // decoded names always fit the encoder's limits
        }
    }
    atv::discovery::HostScan scan("127.0.0.1", {});
    scan.on_datagram(input);
    (void)scan.devices();
    return 0;
}
