#include "hap/credentials.hpp"

#include <vector>

#include "atv/error.hpp"

namespace atv::hap {

namespace {

constexpr std::size_t key_size = 32;

std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t colon = text.find(':', start);
        if (colon == std::string_view::npos) {
            fields.push_back(text.substr(start));
            return fields;
        }
        fields.push_back(text.substr(start, colon - start));
        start = colon + 1;
    }
}

[[noreturn]] void invalid(std::string_view why) {
    throw Error(ErrorKind::invalid_arguments, "invalid credentials: " + std::string(why));
}

Bytes hex_field(std::string_view field, std::string_view name) {
    auto bytes = from_hex(field);
    if (!bytes) {
        invalid(std::string(name) + " is not hex");
    }
    return std::move(*bytes);
}

Bytes key_field(std::string_view field, std::string_view name) {
    Bytes key = hex_field(field, name);
    if (key.size() != key_size) {
        wipe(key.data(), key.size());
        invalid(std::string(name) + " must be 32 bytes");
    }
    return key;
}

}  // namespace

CredentialsType credentials_type(std::string_view text) {
    if (text.empty() || text == ":::") {
        return CredentialsType::none;
    }
    if (text == transient_credentials_text) {
        return CredentialsType::transient;
    }
    const auto fields = split_fields(text);
    if (fields.size() == 2 && !fields[0].empty() && !fields[1].empty()) {
        LegacyCredentials::parse(text);
        return CredentialsType::legacy;
    }
    if (fields.size() != 4) {
        invalid("expected four fields separated by ':'");
    }
    if (fields[0].empty() && !fields[1].empty() && fields[2].empty() && !fields[3].empty()) {
        LegacyCredentials::parse(text);
        return CredentialsType::legacy;
    }
    HapCredentials::parse(text);
    return CredentialsType::hap;
}

HapCredentials HapCredentials::parse(std::string_view text) {
    const auto fields = split_fields(text);
    if (fields.size() != 4) {
        invalid("expected four fields separated by ':'");
    }
    for (const auto field : fields) {
        if (field.empty()) {
            invalid("HAP credentials need all four fields");
        }
    }
    HapCredentials credentials;
    credentials.ltpk = key_field(fields[0], "the device key");
    credentials.ltsk = SecretBytes(key_field(fields[1], "the client key"));
    credentials.device_id = hex_field(fields[2], "the device id");
    credentials.client_id = hex_field(fields[3], "the client id");
    return credentials;
}

std::string HapCredentials::to_string() const {
    return to_hex(ltpk) + ':' + to_hex(ltsk.view()) + ':' + to_hex(device_id) + ':' +
           to_hex(client_id);
}

LegacyCredentials LegacyCredentials::parse(std::string_view text) {
    const auto fields = split_fields(text);
    std::string_view client_id_field;
    std::string_view seed_field;
    if (fields.size() == 2) {
        client_id_field = fields[0];
        seed_field = fields[1];
    } else if (fields.size() == 4 && fields[0].empty() && fields[2].empty()) {
        seed_field = fields[1];
        client_id_field = fields[3];
    } else {
        invalid("legacy credentials are ':SEED::CLIENT_ID' or 'CLIENT_ID:SEED'");
    }
    LegacyCredentials credentials;
    credentials.client_id = hex_field(client_id_field, "the client id");
    if (credentials.client_id.empty()) {
        invalid("the client id is empty");
    }
    credentials.seed = SecretBytes(key_field(seed_field, "the client key"));
    return credentials;
}

std::string LegacyCredentials::to_string() const {
    return ':' + to_hex(seed.view()) + "::" + to_hex(client_id);
}

}  // namespace atv::hap
