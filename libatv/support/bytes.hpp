// Byte buffers, hex text and the wiping of secrets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atv {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Lower-case hex of every byte.
std::string to_hex(ByteView bytes);

// Hex text (either case, even length) to bytes; nullopt on anything else.
std::optional<Bytes> from_hex(std::string_view text);

Bytes to_bytes(std::string_view text);
std::string to_string(ByteView bytes);

// Overwrites memory in a way the optimiser cannot drop.
void wipe(void* data, std::size_t size);

// A byte buffer for key material: wiped when it goes away.
class SecretBytes {
  public:
    SecretBytes() = default;
    explicit SecretBytes(Bytes bytes) : bytes_(std::move(bytes)) {}
    SecretBytes(const SecretBytes&) = default;
    SecretBytes& operator=(const SecretBytes&) = default;
    SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {}
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    ~SecretBytes() { clear(); }

    [[nodiscard]] ByteView view() const { return bytes_; }
    [[nodiscard]] const std::uint8_t* data() const { return bytes_.data(); }
    [[nodiscard]] std::uint8_t* data() { return bytes_.data(); }
    [[nodiscard]] std::size_t size() const { return bytes_.size(); }
    [[nodiscard]] bool empty() const { return bytes_.empty(); }
    void resize(std::size_t size) { bytes_.resize(size); }
    void clear();

  private:
    Bytes bytes_;
};

// Cryptographically secure random bytes (libsodium).
Bytes random_bytes(std::size_t count);

// A random UUID4 as text ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"), lower- or upper-case.
std::string random_uuid(bool upper_case = false);

}  // namespace atv
