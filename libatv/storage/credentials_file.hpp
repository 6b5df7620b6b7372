// The text formats of the secrets store's files, as pure functions (text in, values out).
//
// A device file (one per device, "<sanitized id>_<hash>.creds"):
//
//     atvd-credentials 1
//     device-id <text>
//     identifier <text>              zero or more
//     name <text>
//     credentials <protocol> <text>  zero or more, each protocol at most once
//     end
//
// The identity file ("identity"):
//
//     atvd-identity 1
//     client-id <lower-case UUID>
//     seed <64 lower-case hex digits>
//     end
//
// A file encrypted at rest (either kind, when a key is configured):
//
//     atvd-sealed 1
//     nonce <48 lower-case hex digits>          XChaCha20-Poly1305 nonce
//     data <lower-case hex digits>              ciphertext of the plain file, then the tag
//     end
//
// Rules, checked strictly by the parsers:
// - Lines are in exactly this order and each ends with "\n" (no "\r"); nothing follows "end".
//   The first line names the format and its version; only version 1 exists.
// - A line is a key, one space, and the value. <text> is the value's bytes with '%', every
//   byte below 0x20 and 0x7f written as "%XX" (two upper-case hex digits); other bytes
//   (UTF-8 included) are written as they are, so names stay readable. An empty value may be
//   written without the space.
// - <protocol> is a lower-case protocol name ("mrp", "airplay", "companion", "dmap", "raop").
// - device-id is not empty. A whole file is at most max_file_size bytes.
// Errors name the line and what was wrong, never the content.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "atv/storage.hpp"

namespace atv::storage {

inline constexpr std::size_t max_file_size = 64 * 1024;
inline constexpr std::string_view device_file_suffix = ".creds";
inline constexpr std::string_view identity_file_name = "identity";

// The file's text. Throws atv::Error (device_id_missing for an empty id, invalid_arguments when
// the result would exceed max_file_size). The caller wipes the text after use.
std::string serialize_device(const StoredDevice& device);

// Throws atv::Error(invalid_arguments, "line N: ...") on anything malformed.
StoredDevice parse_device(std::string_view text);

std::string serialize_identity(const SecretsStore::Identity& identity);
SecretsStore::Identity parse_identity(std::string_view text);

struct SealedFile {
    Bytes nonce;
    Bytes ciphertext;  // with the authentication tag at its end
};

[[nodiscard]] bool looks_sealed(std::string_view text);
std::string serialize_sealed(const SealedFile& sealed);
SealedFile parse_sealed(std::string_view text);

// "<id with every byte outside [A-Za-z0-9_.-] as '_', at most 64 of them, no leading '.'>_<first
// 16 hex digits of SHA-256(id)>.creds".
std::string device_file_name(std::string_view device_id);

// A std::string whose bytes are overwritten when it goes away (for text holding secrets).
class WipedString {
  public:
    WipedString() = default;
    explicit WipedString(std::string text) : text_(std::move(text)) {}
    WipedString(const WipedString&) = delete;
    WipedString& operator=(const WipedString&) = delete;
    ~WipedString();

    std::string& get() { return text_; }
    [[nodiscard]] std::string_view view() const { return text_; }

  private:
    std::string text_;
};

}  // namespace atv::storage
