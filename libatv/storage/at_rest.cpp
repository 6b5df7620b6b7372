#include "storage/at_rest.hpp"

#include <sodium.h>

#include "atv/error.hpp"
#include "storage/credentials_file.hpp"
#include "storage/private_files.hpp"

namespace atv::storage {

namespace {

const unsigned char* bytes_of(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

void check_key(const SecretBytes& key) {
    if (key.size() != at_rest_key_size) {
        throw Error(ErrorKind::invalid_arguments, "the at-rest key must be 32 bytes");
    }
}

SecretBytes key_from_file_text(std::string_view text, const std::filesystem::path& file) {
    if (text.size() == at_rest_key_size) {
        return SecretBytes(Bytes(text.begin(), text.end()));
    }
    if (text.ends_with('\n')) {
        text.remove_suffix(1);
    }
    if (text.size() == 2 * at_rest_key_size) {
        if (std::optional<Bytes> key = from_hex(text)) {
            return SecretBytes(std::move(*key));
        }
    }
    throw Error(ErrorKind::invalid_state,
                "the at-rest key " + file.string() +
                    " must hold 32 bytes, raw or as 64 hex digits (create one with: head -c 32 "
                    "/dev/urandom)");
}

}  // namespace

std::string seal(const SecretBytes& key, std::string_view file_name, std::string_view plain) {
    check_key(key);
    SealedFile sealed{
        .nonce = random_bytes(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES),
        .ciphertext = Bytes(plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES)};
    unsigned long long length = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.ciphertext.data(), &length, bytes_of(plain),
                                               plain.size(), bytes_of(file_name), file_name.size(),
                                               nullptr, sealed.nonce.data(), key.data());
    sealed.ciphertext.resize(length);
    return serialize_sealed(sealed);
}

std::string unseal(const SecretBytes& key, std::string_view file_name, std::string_view text) {
    check_key(key);
    const SealedFile sealed = parse_sealed(text);
    std::string plain(sealed.ciphertext.size(), '\0');
    unsigned long long length = 0;
    const int result = crypto_aead_xchacha20poly1305_ietf_decrypt(
        reinterpret_cast<unsigned char*>(plain.data()), &length, nullptr, sealed.ciphertext.data(),
        sealed.ciphertext.size(), bytes_of(file_name), file_name.size(), sealed.nonce.data(),
        key.data());
    if (result != 0) {
        wipe(plain.data(), plain.size());
        throw Error(ErrorKind::invalid_arguments,
                    "it does not decrypt with the configured key (another key was used, or the "
                    "file was changed or renamed)");
    }
    plain.resize(length);  // shrinking keeps the buffer, so nothing is copied
    return plain;
}

std::optional<SecretBytes> read_at_rest_key(const std::filesystem::path& folder) {
    const std::filesystem::path file = folder / at_rest_key_file_name;
    std::error_code error;
    if (!std::filesystem::exists(file, error)) {
        return std::nullopt;
    }
    const Folder keys(folder, Folder::Role::existing);
    ReadResult result = read_private_file(keys, std::string(at_rest_key_file_name), 1024);
    if (auto* refusal = std::get_if<Refusal>(&result)) {
        throw Error(ErrorKind::invalid_state,
                    "the at-rest key " + file.string() + " cannot be used: " + refusal->reason);
    }
    if (std::holds_alternative<Missing>(result)) {
        return std::nullopt;
    }
    WipedString text(std::move(std::get<std::string>(result)));
    return key_from_file_text(text.view(), file);
}

}  // namespace atv::storage
