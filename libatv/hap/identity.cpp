#include "hap/identity.hpp"

#include <algorithm>

#include "atv/error.hpp"

namespace atv::hap {

namespace {

constexpr std::size_t uuid_length = 36;
constexpr std::size_t seed_hex_length = 64;

bool is_uuid(std::string_view text) {
    if (text.size() != uuid_length) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        const char c = text[i];
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash_position ? c != '-' : !hex) {
            return false;
        }
    }
    return true;
}

}  // namespace

ClientIdentity ClientIdentity::generate() {
    return ClientIdentity{random_uuid(), Ed25519KeyPair::generate()};
}

std::string ClientIdentity::serialize() const {
    return client_id + ':' + to_hex(keys.seed.view());
}

ClientIdentity ClientIdentity::parse(std::string_view text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon != uuid_length ||
        text.size() != uuid_length + 1 + seed_hex_length) {
        throw Error(ErrorKind::invalid_arguments,
                    "invalid client identity: expected '<uuid>:<64 hex digits>'");
    }
    const auto id = text.substr(0, colon);
    if (!is_uuid(id)) {
        throw Error(ErrorKind::invalid_arguments, "invalid client identity: the id is not a UUID");
    }
    auto seed = from_hex(text.substr(colon + 1));
    if (!seed) {
        throw Error(ErrorKind::invalid_arguments, "invalid client identity: the key is not hex");
    }
    const SecretBytes secret_seed(std::move(*seed));
    return ClientIdentity{std::string(id), Ed25519KeyPair::from_seed(secret_seed.view())};
}

}  // namespace atv::hap
