// Fuzz target: the secrets store's file parsers (device, identity, sealed). Whatever parses must
// serialize back to text that parses to the same value.
#include "storage/credentials_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "atv/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const atv::StoredDevice device = atv::storage::parse_device(text);
        if (atv::storage::parse_device(atv::storage::serialize_device(device)) != device) {
            std::abort();
        }
    } catch (const atv::Error&) {
    }
    try {
        const atv::SecretsStore::Identity identity = atv::storage::parse_identity(text);
        if (atv::storage::serialize_identity(identity) != text) {
            std::abort();  // the identity format has exactly one spelling
        }
    } catch (const atv::Error&) {
    }
    try {
        const atv::storage::SealedFile sealed = atv::storage::parse_sealed(text);
        if (atv::storage::serialize_sealed(sealed) != text) {
            std::abort();  // the sealed format has exactly one spelling
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
