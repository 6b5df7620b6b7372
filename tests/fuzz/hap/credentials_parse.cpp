// Credentials and client identities as read from the secrets store: a clean error or a value that
// prints back to the same text.
#include <cstdlib>
#include <string_view>

#include "atv/error.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto parsed = HapCredentials::parse(text);
        if (HapCredentials::parse(parsed.to_string()).to_string() != parsed.to_string()) {
            std::abort();
        }
    } catch (const atv::Error&) {
    }
    try {
        (void)credentials_type(text);
    } catch (const atv::Error&) {
    }
    try {
        const auto identity = ClientIdentity::parse(text);
        if (ClientIdentity::parse(identity.serialize()).serialize() != identity.serialize()) {
            std::abort();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
