#include "support/bytes.hpp"

#include <sodium.h>

#include <array>
#include <cctype>
#include <stdexcept>

namespace atv {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void ensure_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium failed to initialise");
    }
}

}  // namespace

std::string to_hex(ByteView bytes) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (std::uint8_t byte : bytes) {
        text.push_back(digits[byte >> 4]);
        text.push_back(digits[byte & 0x0f]);
    }
    return text;
}

std::optional<Bytes> from_hex(std::string_view text) {
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    Bytes bytes;
    bytes.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int high = hex_value(text[i]);
        const int low = hex_value(text[i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        bytes.push_back(static_cast<std::uint8_t>((high << 4) | low));
    }
    return bytes;
}

Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

std::string to_string(ByteView bytes) {
    return std::string(bytes.begin(), bytes.end());
}

void wipe(void* data, std::size_t size) {
    if (data != nullptr && size > 0) {
        sodium_memzero(data, size);
    }
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
        clear();
        bytes_ = std::move(other.bytes_);
    }
    return *this;
}

void SecretBytes::clear() {
    wipe(bytes_.data(), bytes_.size());
    bytes_.clear();
}

Bytes random_bytes(std::size_t count) {
    ensure_sodium();
    Bytes bytes(count);
    randombytes_buf(bytes.data(), bytes.size());
    return bytes;
}

std::string random_uuid(bool upper_case) {
    Bytes raw = random_bytes(16);
    raw[6] = static_cast<std::uint8_t>((raw[6] & 0x0f) | 0x40);
    raw[8] = static_cast<std::uint8_t>((raw[8] & 0x3f) | 0x80);
    std::string hex = to_hex(raw);
    std::string uuid = hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
                       hex.substr(16, 4) + '-' + hex.substr(20, 12);
    if (upper_case) {
        for (char& c : uuid) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
    }
    return uuid;
}

}  // namespace atv
