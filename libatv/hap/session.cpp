#include "hap/session.hpp"

#include <string>

#include "atv/error.hpp"
#include "hap/crypto.hpp"

namespace atv::hap {

namespace {

void put_little_endian(Bytes& out, std::size_t offset, std::uint64_t value) {
    for (std::size_t i = 0; i < 8; ++i) {
        out[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

}  // namespace

Bytes counter_nonce_hap(std::uint64_t counter) {
    Bytes nonce(ChaCha20Poly1305::nonce_size, 0);
    put_little_endian(nonce, 4, counter);
    return nonce;
}

Bytes counter_nonce_companion(std::uint64_t counter) {
    Bytes nonce(ChaCha20Poly1305::nonce_size, 0);
    put_little_endian(nonce, 0, counter);
    return nonce;
}

SessionKeys derive_session_keys(ByteView shared, std::string_view salt,
                                std::string_view output_info, std::string_view input_info) {
    return SessionKeys{SecretBytes(hkdf_sha512(shared, salt, output_info)),
                       SecretBytes(hkdf_sha512(shared, salt, input_info))};
}

SessionKeys mrp_session_keys(ByteView shared) {
    return derive_session_keys(shared, "MediaRemote-Salt", "MediaRemote-Write-Encryption-Key",
                               "MediaRemote-Read-Encryption-Key");
}

SessionKeys companion_session_keys(ByteView shared) {
    return derive_session_keys(shared, "", "ClientEncrypt-main", "ServerEncrypt-main");
}

SessionKeys airplay_control_keys(ByteView shared) {
    return derive_session_keys(shared, "Control-Salt", "Control-Write-Encryption-Key",
                               "Control-Read-Encryption-Key");
}

SessionKeys airplay_event_keys(ByteView shared) {
    // The event channel is opened by the device, so the labels are the other way round.
    return derive_session_keys(shared, "Events-Salt", "Events-Read-Encryption-Key",
                               "Events-Write-Encryption-Key");
}

SessionKeys airplay_datastream_keys(ByteView shared, std::uint64_t seed) {
    const std::string salt = "DataStream-Salt" + std::to_string(seed);
    return derive_session_keys(shared, salt, "DataStream-Output-Encryption-Key",
                               "DataStream-Input-Encryption-Key");
}

SessionKeys reversed(const SessionKeys& keys) {
    return SessionKeys{keys.input_key, keys.output_key};
}

// ---- HAP framing ----

HapFrameCipher::HapFrameCipher(const SessionKeys& keys)
    : output_key_(keys.output_key), input_key_(keys.input_key) {}

Bytes HapFrameCipher::encrypt(ByteView plaintext) {
    Bytes out;
    out.reserve(plaintext.size() + (plaintext.size() / max_block + 1) * 18);
    std::size_t offset = 0;
    do {
        const std::size_t length = std::min(max_block, plaintext.size() - offset);
        const std::uint8_t header[2] = {static_cast<std::uint8_t>(length & 0xff),
                                        static_cast<std::uint8_t>(length >> 8)};
        const Bytes sealed =
            ChaCha20Poly1305::seal(output_key_.view(), counter_nonce_hap(output_counter_++),
                                   plaintext.subspan(offset, length), header);
        out.insert(out.end(), header, header + 2);
        out.insert(out.end(), sealed.begin(), sealed.end());
        offset += length;
    } while (offset < plaintext.size());
    return out;
}

std::optional<Bytes> HapFrameCipher::decrypt(ByteView incoming) {
    pending_.insert(pending_.end(), incoming.begin(), incoming.end());
    std::optional<Bytes> plaintext;
    std::size_t offset = 0;
    while (pending_.size() - offset >= 2) {
        const std::size_t length = pending_[offset] | (pending_[offset + 1] << 8);
        if (length > max_block) {
            pending_.clear();
            throw Error(ErrorKind::connection_failed,
                        "encrypted block longer than 1024 bytes: the session is out of step");
        }
        const std::size_t total = 2 + length + ChaCha20Poly1305::tag_size;
        if (pending_.size() - offset < total) {
            break;
        }
        const ByteView block(pending_.data() + offset, total);
        auto opened = ChaCha20Poly1305::open(input_key_.view(), counter_nonce_hap(input_counter_),
                                             block.subspan(2), block.first(2));
        if (!opened) {
            pending_.clear();
            throw Error(ErrorKind::connection_failed,
                        "an encrypted block failed authentication: the session is broken");
        }
        ++input_counter_;
        if (!plaintext) {
            plaintext.emplace();
        }
        plaintext->insert(plaintext->end(), opened->begin(), opened->end());
        offset += total;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset));
    return plaintext;
}

// ---- MRP ----

MrpCipher::MrpCipher(const SessionKeys& keys)
    : output_key_(keys.output_key), input_key_(keys.input_key) {}

Bytes MrpCipher::encrypt(ByteView plaintext) {
    return ChaCha20Poly1305::seal(output_key_.view(), counter_nonce_hap(output_counter_++),
                                  plaintext);
}

std::optional<Bytes> MrpCipher::decrypt(ByteView ciphertext_and_tag) {
    auto plain = ChaCha20Poly1305::open(input_key_.view(), counter_nonce_hap(input_counter_),
                                        ciphertext_and_tag);
    if (plain) {
        ++input_counter_;
    }
    return plain;
}

// ---- Companion ----

CompanionCipher::CompanionCipher(const SessionKeys& keys)
    : output_key_(keys.output_key), input_key_(keys.input_key) {}

Bytes CompanionCipher::encrypt(ByteView plaintext, ByteView aad) {
    return ChaCha20Poly1305::seal(output_key_.view(), counter_nonce_companion(output_counter_++),
                                  plaintext, aad);
}

std::optional<Bytes> CompanionCipher::decrypt(ByteView ciphertext_and_tag, ByteView aad) {
    auto plain = ChaCha20Poly1305::open(input_key_.view(), counter_nonce_companion(input_counter_),
                                        ciphertext_and_tag, aad);
    if (plain) {
        ++input_counter_;
    }
    return plain;
}

}  // namespace atv::hap
