// The secrets store: credentials obtained by pairing, kept one file per device in a private
// folder, so that a pairing done once serves every later connection.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atv/device.hpp"
#include "atv/types.hpp"
#include "support/bytes.hpp"

namespace atv {

// A service of a device added by hand, as its record keeps it.
struct StoredService {
    Protocol protocol = Protocol::mrp;
    std::uint16_t port = 0;
    std::string identifier;
    Properties properties;

    friend bool operator==(const StoredService&, const StoredService&) = default;
};

struct StoredDevice {
    std::string device_id;                        // the device's main identifier at pairing time
    std::vector<std::string> identifiers;         // every identifier known for it
    std::string name;                             // for people reading the folder; not secret
    std::map<Protocol, std::string> credentials;  // protocol -> credentials string (secret)
    bool auto_connect = false;                    // keep it connected (Device1.AutoConnect)
    // A device added by hand (Manager1.AddDevice), which discovery may never see: where it is
    // and its services (protocol, port, identifier and properties of each). Empty otherwise.
    std::string address;
    std::vector<StoredService> services;

    friend bool operator==(const StoredDevice&, const StoredDevice&) = default;
};

// Files are written atomically and durably (temp file, fsync, rename, fsync of the folder) and
// read only when they are private to the effective user. Every failure is an atv::Error
// (invalid_state for the file system, invalid_arguments or device_id_missing for bad input)
// whose message names the folder and what to do; no message or log line holds a secret.
// Safe to use from several threads; the folder is also locked (flock) against other processes.
class SecretsStore {
  public:
    // Creates the folder with mode 0700 when it is missing.
    explicit SecretsStore(std::filesystem::path directory);
    // With a 32-byte key, every file is written encrypted (XChaCha20-Poly1305); plain files
    // still load and are encrypted when next written.
    SecretsStore(std::filesystem::path directory, std::optional<SecretBytes> at_rest_key);
    ~SecretsStore();
    SecretsStore(const SecretsStore&) = delete;
    SecretsStore& operator=(const SecretsStore&) = delete;

    [[nodiscard]] const std::filesystem::path& directory() const;

    // Every stored device, ordered by device id. Files that are not private to this user, are
    // symbolic links, too large or malformed are skipped with one warning each; temporary files
    // left by an interrupted write are removed.
    std::vector<StoredDevice> load_all();

    // Durable before it returns; replaces what was stored for the same device id.
    void save(const StoredDevice& device);
    // Durable before it returns; a device with nothing stored is fine.
    void remove(std::string_view device_id);

    // The same, with the blocking file work on the store's own worker thread; the coroutine
    // resumes on its own executor. Operations run in the order they were started.
    asio::awaitable<void> save_async(StoredDevice device);
    asio::awaitable<void> remove_async(std::string device_id);

    // The installation's one stable client identity, created on first use in its own 0600 file.
    struct Identity {
        std::string client_id;  // lower-case ASCII UUID
        SecretBytes seed;       // 32-byte Ed25519 seed
    };
    Identity load_or_create_identity();

    // The at-rest key systemd provides as $CREDENTIALS_DIRECTORY/atvd.key (32 bytes, raw or 64
    // hex digits); nullopt without one. Throws atv::Error(invalid_state) for an unusable key file.
    static std::optional<SecretBytes> at_rest_key_from_environment();

    // File name (inside the folder) that holds a device's credentials: only [A-Za-z0-9_.-],
    // readable, and distinct for distinct ids.
    static std::string file_name_for(std::string_view device_id);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace atv
