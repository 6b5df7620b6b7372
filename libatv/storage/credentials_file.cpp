#include "storage/credentials_file.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "atv/error.hpp"
#include "support/bytes.hpp"

namespace atv::storage {

namespace {

constexpr std::string_view device_header = "atvd-credentials 1";
constexpr std::string_view device_magic = "atvd-credentials";
constexpr std::string_view identity_header = "atvd-identity 1";
constexpr std::string_view identity_magic = "atvd-identity";
constexpr std::string_view sealed_header = "atvd-sealed 1";
constexpr std::string_view sealed_magic = "atvd-sealed";
constexpr std::size_t sealed_nonce_size = 24;
constexpr std::size_t sealed_tag_size = 16;
constexpr std::size_t seed_size = 32;
constexpr std::size_t max_readable_id_length = 64;

bool must_escape(unsigned char byte) {
    return byte < 0x20 || byte == 0x7f || byte == '%';
}

void append_text(std::string& out, std::string_view value) {
    static constexpr std::string_view digits = "0123456789ABCDEF";
    for (char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (must_escape(byte)) {
            out.push_back('%');
            out.push_back(digits[byte >> 4]);
            out.push_back(digits[byte & 0x0f]);
        } else {
            out.push_back(c);
        }
    }
}

// A TXT key of a stored service: a space would end it, so it is escaped like a control byte.
void append_key(std::string& out, std::string_view key) {
    for (const char c : key) {
        if (c == ' ') {
            out.append("%20");
        } else {
            append_text(out, std::string_view(&c, 1));
        }
    }
}

void append_line(std::string& out, std::string_view key, std::string_view value) {
    out.append(key);
    out.push_back(' ');
    append_text(out, value);
    out.push_back('\n');
}

[[noreturn]] void fail(std::size_t line_number, const std::string& what) {
    throw Error(ErrorKind::invalid_arguments, "line " + std::to_string(line_number) + ": " + what);
}

std::string decode_text(std::string_view value, std::size_t line_number) {
    std::string decoded;
    decoded.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto byte = static_cast<unsigned char>(value[i]);
        if (byte < 0x20 || byte == 0x7f) {
            fail(line_number, "control character in a value (it must be written as %XX)");
        }
        if (byte != '%') {
            decoded.push_back(value[i]);
            continue;
        }
        const auto escaped =
            value.size() - i >= 3 ? from_hex(value.substr(i + 1, 2)) : std::nullopt;
        if (!escaped) {
            fail(line_number, "'%' must be followed by two hex digits");
        }
        decoded.push_back(static_cast<char>(escaped->front()));
        i += 2;
    }
    return decoded;
}

struct Line {
    std::size_t number = 0;
    std::string_view key;
    std::string_view value;
    bool spaced = false;  // a space follows the key, even when the value is empty
};

// Hands out the lines of a text one by one; every line must end with '\n'.
class LineReader {
  public:
    explicit LineReader(std::string_view text) : rest_(text) {}

    [[nodiscard]] bool at_end() const { return rest_.empty(); }
    [[nodiscard]] std::size_t line_number() const { return line_number_; }

    Line next(std::string_view expected) {
        ++line_number_;
        if (rest_.empty()) {
            fail(line_number_, "the file ends early; expected '" + std::string(expected) + "'");
        }
        const std::size_t newline = rest_.find('\n');
        if (newline == std::string_view::npos) {
            fail(line_number_, "the last line has no line feed (truncated file?)");
        }
        const std::string_view text = rest_.substr(0, newline);
        rest_.remove_prefix(newline + 1);
        Line line{.number = line_number_, .key = text, .value = {}};
        const std::size_t space = text.find(' ');
        if (space != std::string_view::npos) {
            line.key = text.substr(0, space);
            line.value = text.substr(space + 1);
            line.spaced = true;
        }
        return line;
    }

  private:
    std::string_view rest_;
    std::size_t line_number_ = 0;
};

void expect_header(LineReader& reader, std::string_view header, std::string_view magic) {
    const Line line = reader.next(header);
    if (line.key == magic && line.value == header.substr(magic.size() + 1)) {
        return;
    }
    if (line.key == magic) {
        fail(line.number,
             "unsupported format version (this atvd reads '" + std::string(header) + "')");
    }
    fail(line.number,
         "not a file of this kind (the first line must be '" + std::string(header) + "')");
}

void expect_end(LineReader& reader) {
    const Line line = reader.next("end");
    if (line.key != "end" || line.spaced) {
        fail(line.number, "expected 'end'");
    }
    if (!reader.at_end()) {
        fail(line.number + 1, "unexpected text after 'end'");
    }
}

std::string expect_value(LineReader& reader, std::string_view key) {
    const Line line = reader.next(key);
    if (line.key != key) {
        fail(line.number, "expected '" + std::string(key) + "'");
    }
    return decode_text(line.value, line.number);
}

void add_credentials(StoredDevice& device, const Line& line) {
    const std::size_t space = line.value.find(' ');
    const std::string_view protocol_name = line.value.substr(0, space);
    const std::optional<Protocol> protocol = protocol_from_string(protocol_name);
    if (!protocol) {
        fail(line.number, "unknown protocol (expected mrp, airplay, companion, dmap or raop)");
    }
    if (device.credentials.contains(*protocol)) {
        fail(line.number, "second 'credentials' line for " + std::string(to_string(*protocol)));
    }
    const std::string_view text =
        space == std::string_view::npos ? std::string_view{} : line.value.substr(space + 1);
    device.credentials.emplace(*protocol, decode_text(text, line.number));
}

// "service PROTOCOL PORT IDENTIFIER" of a device added by hand.
void add_service(StoredDevice& device, const Line& line) {
    const std::string_view value = line.value;
    const std::size_t first = value.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : value.find(' ', first + 1);
    if (second == std::string_view::npos) {
        fail(line.number, "expected 'service PROTOCOL PORT IDENTIFIER'");
    }
    const std::optional<Protocol> protocol = protocol_from_string(value.substr(0, first));
    if (!protocol) {
        fail(line.number, "unknown protocol (expected mrp, airplay, companion, dmap or raop)");
    }
    const std::string_view port_text = value.substr(first + 1, second - first - 1);
    std::uint16_t port = 0;
    const auto [end, problem] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (problem != std::errc{} || end != port_text.data() + port_text.size() || port == 0) {
        fail(line.number, "the port must be a number from 1 to 65535");
    }
    if (std::any_of(device.services.begin(), device.services.end(),
                    [&](const StoredService& known) { return known.protocol == *protocol; })) {
        fail(line.number, "second 'service' line for " + std::string(to_string(*protocol)));
    }
    StoredService service;
    service.protocol = *protocol;
    service.port = port;
    service.identifier = decode_text(value.substr(second + 1), line.number);
    device.services.push_back(std::move(service));
}

// "property KEY VALUE" of the service on the line before.
void add_property(StoredDevice& device, const Line& line) {
    if (device.services.empty()) {
        fail(line.number, "'property' before any 'service'");
    }
    const std::size_t space = line.value.find(' ');
    if (space == std::string_view::npos || space == 0) {
        fail(line.number, "expected 'property KEY VALUE'");
    }
    std::string key = decode_text(line.value.substr(0, space), line.number);
    if (!device.services.back()
             .properties
             .emplace(std::move(key), decode_text(line.value.substr(space + 1), line.number))
             .second) {
        fail(line.number, "the same property twice");
    }
}

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_lower_case_uuid(std::string_view text) {
    static constexpr std::array dash_positions{8U, 13U, 18U, 23U};
    if (text.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash_expected =
            std::find(dash_positions.begin(), dash_positions.end(), i) != dash_positions.end();
        if (dash_expected ? text[i] != '-' : !is_lower_hex(text[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace

WipedString::~WipedString() {
    text_.resize(text_.capacity());
    wipe(text_.data(), text_.size());
}

std::string serialize_device(const StoredDevice& device) {
    if (device.device_id.empty()) {
        throw Error(ErrorKind::device_id_missing,
                    "credentials can only be stored for a device with an identifier");
    }
    // Reserve the worst case up front so that growing never leaves copies of secrets behind.
    std::size_t worst_case =
        device_header.size() + 64 + 3 * device.device_id.size() + 3 * device.name.size();
    for (const std::string& identifier : device.identifiers) {
        worst_case += 16 + 3 * identifier.size();
    }
    for (const auto& [protocol, credentials] : device.credentials) {
        worst_case += 32 + 3 * credentials.size();
    }
    worst_case += 16 + 3 * device.address.size();
    for (const StoredService& service : device.services) {
        worst_case += 32 + 3 * service.identifier.size();
        for (const auto& [key, value] : service.properties) {
            worst_case += 16 + 3 * (key.size() + value.size());
        }
    }
    std::string out;
    out.reserve(worst_case);
    out.append(device_header).push_back('\n');
    append_line(out, "device-id", device.device_id);
    for (const std::string& identifier : device.identifiers) {
        append_line(out, "identifier", identifier);
    }
    append_line(out, "name", device.name);
    if (device.auto_connect) {
        out.append("auto-connect yes\n");
    }
    if (!device.address.empty()) {
        append_line(out, "address", device.address);
        for (const StoredService& service : device.services) {
            out.append("service ").append(to_string(service.protocol)).push_back(' ');
            out.append(std::to_string(service.port)).push_back(' ');
            append_text(out, service.identifier);
            out.push_back('\n');
            for (const auto& [key, value] : service.properties) {
                out.append("property ");
                append_key(out, key);
                out.push_back(' ');
                append_text(out, value);
                out.push_back('\n');
            }
        }
    }
    for (const auto& [protocol, credentials] : device.credentials) {
        out.append("credentials ").append(to_string(protocol)).push_back(' ');
        append_text(out, credentials);
        out.push_back('\n');
    }
    out.append("end\n");
    if (out.size() > max_file_size) {
        WipedString discarded(std::move(out));
        throw Error(ErrorKind::invalid_arguments,
                    "the identifiers, name and credentials of this device take more than " +
                        std::to_string(max_file_size) + " bytes; they were not stored");
    }
    return out;
}

StoredDevice parse_device(std::string_view text) {
    if (text.size() > max_file_size) {
        throw Error(ErrorKind::invalid_arguments,
                    "the file is larger than " + std::to_string(max_file_size) + " bytes");
    }
    LineReader reader(text);
    expect_header(reader, device_header, device_magic);
    StoredDevice device;
    device.device_id = expect_value(reader, "device-id");
    if (device.device_id.empty()) {
        fail(reader.line_number(), "the device id is empty");
    }
    Line line = reader.next("name");
    for (; line.key == "identifier"; line = reader.next("name")) {
        device.identifiers.push_back(decode_text(line.value, line.number));
    }
    if (line.key != "name") {
        fail(line.number, "expected 'identifier' or 'name'");
    }
    device.name = decode_text(line.value, line.number);
    line = reader.next("end");
    if (line.key == "auto-connect") {
        if (line.value != "yes") {
            fail(line.number, "'auto-connect' takes 'yes'");
        }
        device.auto_connect = true;
        line = reader.next("end");
    }
    if (line.key == "address") {
        device.address = decode_text(line.value, line.number);
        if (device.address.empty()) {
            fail(line.number, "the address is empty");
        }
        for (line = reader.next("end"); line.key == "service" || line.key == "property";
             line = reader.next("end")) {
            if (line.key == "service") {
                add_service(device, line);
            } else {
                add_property(device, line);
            }
        }
        if (device.services.empty()) {
            fail(line.number, "a device with an address needs at least one 'service'");
        }
    }
    for (; line.key == "credentials"; line = reader.next("end")) {
        add_credentials(device, line);
    }
    if (line.key != "end" || line.spaced) {
        fail(line.number, "expected 'credentials' or 'end'");
    }
    if (!reader.at_end()) {
        fail(line.number + 1, "unexpected text after 'end'");
    }
    return device;
}

std::string serialize_identity(const SecretsStore::Identity& identity) {
    if (!is_lower_case_uuid(identity.client_id) || identity.seed.size() != seed_size) {
        throw Error(ErrorKind::invalid_arguments,
                    "a client identity needs a lower-case UUID and a 32-byte seed");
    }
    std::string out;
    out.reserve(identity_header.size() + 16 + 10 + identity.client_id.size() + 8 + 2 * seed_size +
                8);
    out.append(identity_header).push_back('\n');
    append_line(out, "client-id", identity.client_id);
    WipedString seed_hex(to_hex(identity.seed.view()));
    append_line(out, "seed", seed_hex.view());
    out.append("end\n");
    return out;
}

SecretsStore::Identity parse_identity(std::string_view text) {
    if (text.size() > max_file_size) {
        throw Error(ErrorKind::invalid_arguments,
                    "the file is larger than " + std::to_string(max_file_size) + " bytes");
    }
    LineReader reader(text);
    expect_header(reader, identity_header, identity_magic);
    SecretsStore::Identity identity;
    const Line id_line = reader.next("client-id");
    if (id_line.key != "client-id") {
        fail(id_line.number, "expected 'client-id'");
    }
    if (!is_lower_case_uuid(id_line.value)) {
        fail(id_line.number, "the client id is not a lower-case UUID");
    }
    identity.client_id = std::string(id_line.value);
    const Line line = reader.next("seed");
    if (line.key != "seed") {
        fail(line.number, "expected 'seed'");
    }
    const bool well_formed = line.value.size() == 2 * seed_size &&
                             std::all_of(line.value.begin(), line.value.end(), is_lower_hex);
    if (!well_formed) {
        fail(line.number, "the seed must be 64 lower-case hex digits");
    }
    identity.seed = SecretBytes(from_hex(line.value).value());
    expect_end(reader);
    return identity;
}

bool looks_sealed(std::string_view text) {
    return text.starts_with(std::string(sealed_magic) + " ");
}

std::string serialize_sealed(const SealedFile& sealed) {
    std::string out(sealed_header);
    out.append("\nnonce ").append(to_hex(sealed.nonce));
    out.append("\ndata ").append(to_hex(sealed.ciphertext));
    out.append("\nend\n");
    if (out.size() > max_file_size) {
        throw Error(ErrorKind::invalid_arguments, "the encrypted file would take more than " +
                                                      std::to_string(max_file_size) +
                                                      " bytes; it was not stored");
    }
    return out;
}

SealedFile parse_sealed(std::string_view text) {
    if (text.size() > max_file_size) {
        throw Error(ErrorKind::invalid_arguments,
                    "the file is larger than " + std::to_string(max_file_size) + " bytes");
    }
    LineReader reader(text);
    expect_header(reader, sealed_header, sealed_magic);
    const auto hex_line = [&reader](std::string_view key, std::size_t min_bytes,
                                    std::size_t max_bytes) {
        const Line line = reader.next(key);
        if (line.key != key) {
            fail(line.number, "expected '" + std::string(key) + "'");
        }
        const bool lower_hex = std::all_of(line.value.begin(), line.value.end(), is_lower_hex);
        std::optional<Bytes> bytes = lower_hex ? from_hex(line.value) : std::nullopt;
        if (!bytes || bytes->size() < min_bytes || bytes->size() > max_bytes) {
            fail(line.number, "'" + std::string(key) + "' must be " + std::to_string(min_bytes) +
                                  (min_bytes == max_bytes ? "" : " or more") +
                                  " bytes as lower-case hex digits");
        }
        return std::move(*bytes);
    };
    SealedFile sealed;
    sealed.nonce = hex_line("nonce", sealed_nonce_size, sealed_nonce_size);
    sealed.ciphertext = hex_line("data", sealed_tag_size, max_file_size);
    expect_end(reader);
    return sealed;
}

std::string device_file_name(std::string_view device_id) {
    std::string name;
    for (char c : device_id.substr(0, max_readable_id_length)) {
        const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        name.push_back(safe ? c : '_');
    }
    if (!name.empty() && name.front() == '.') {
        name.front() = '_';  // hidden names are reserved for temporary files
    }
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(device_id.data()),
                       device_id.size());
    name.push_back('_');
    name.append(to_hex(ByteView(digest.data(), 8)));
    name.append(device_file_suffix);
    return name;
}

}  // namespace atv::storage
