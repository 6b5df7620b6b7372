// Who takes part in a pairing: our long-term client identity and an accessory's.
#pragma once

#include <string>
#include <string_view>

#include "hap/crypto.hpp"

namespace atv::hap {

// The installation's stable identity as a HAP controller.
struct ClientIdentity {
    std::string client_id;  // ASCII UUID, sent as the pairing identifier
    Ed25519KeyPair keys;

    static ClientIdentity generate();
    // "<client id>:<64 hex digits of the Ed25519 seed>" for the secrets store.
    [[nodiscard]] std::string serialize() const;
    // Strict inverse of serialize(); throws atv::Error(invalid_arguments) without echoing text.
    static ClientIdentity parse(std::string_view text);
};

struct AccessoryIdentity {
    std::string device_id;  // e.g. "AA:BB:CC:DD:EE:FF" or a UUID
    Ed25519KeyPair keys;
};

// A controller an accessory has paired with.
struct PairedController {
    std::string client_id;
    Bytes ltpk;
    Bytes name;  // the Name item as sent (OPACK {"name": ...}); empty when absent
};

}  // namespace atv::hap
