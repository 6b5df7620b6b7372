// Optional encryption of the secrets store's files at rest (XChaCha20-Poly1305, libsodium), with
// a key that systemd hands over in $CREDENTIALS_DIRECTORY (LoadCredentialEncrypted=).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::storage {

inline constexpr std::size_t at_rest_key_size = 32;
inline constexpr std::string_view at_rest_key_file_name = "atvd.key";

// The sealed form (see credentials_file.hpp) of a file's plain text. The file name is
// authenticated too, so a sealed file moved under another name does not open.
std::string seal(const SecretBytes& key, std::string_view file_name, std::string_view plain);

// The plain text of a sealed file. Throws atv::Error(invalid_arguments) when it is malformed or
// does not open with this key.
std::string unseal(const SecretBytes& key, std::string_view file_name, std::string_view sealed);

// Reads `folder/atvd.key`: 32 bytes, raw or as 64 hex digits (a final line feed allowed). nullopt
// when the file does not exist; atv::Error(invalid_state) when it exists but cannot be used.
std::optional<SecretBytes> read_at_rest_key(const std::filesystem::path& folder);

}  // namespace atv::storage
