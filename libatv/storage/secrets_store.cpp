#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/async_result.hpp>
#include <asio/bind_executor.hpp>
#include <asio/execution.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdlib>
#include <exception>
#include <mutex>

#include "atv/error.hpp"
#include "atv/storage.hpp"
#include "storage/at_rest.hpp"
#include "storage/credentials_file.hpp"
#include "storage/private_files.hpp"

namespace atv {

namespace {

using storage::Folder;
using storage::FolderLock;
using storage::WipedString;

bool has_suffix(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Runs `work` on `worker` and resumes the awaiting coroutine on its own executor, rethrowing
// what `work` threw. Not a coroutine itself: the work travels by value from here to the worker.
template <typename Work>
asio::awaitable<void> run_on(asio::thread_pool& worker, Work work) {
    auto initiate = [&worker](auto handler, Work work) {
        // Keeps the caller's event loop from running out of work while the worker is busy.
        auto caller = asio::prefer(asio::get_associated_executor(handler),
                                   asio::execution::outstanding_work.tracked);
        asio::post(worker, [work = std::move(work), handler = std::move(handler),
                            caller = std::move(caller)]() mutable {
            std::exception_ptr failure;
            try {
                work();
            } catch (...) {
                failure = std::current_exception();
            }
            asio::post(caller, [handler = std::move(handler), failure]() mutable {
                std::move(handler)(failure);
            });
        });
    };
    return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
        initiate, asio::use_awaitable, std::move(work));
}

}  // namespace

struct SecretsStore::Impl {
    Impl(std::filesystem::path directory, std::optional<SecretBytes> key)
        : folder(std::move(directory)), at_rest_key(std::move(key)) {}
    ~Impl() { worker.join(); }

    std::optional<StoredDevice> load_device(const std::string& file_name);
    // What goes to disk for `plain`, encrypted when a key is configured.
    std::string encode(const std::string& file_name, std::string_view plain) const;
    // The plain text of a file as read; throws atv::Error with the reason it cannot be used.
    std::string decode(const std::string& file_name, std::string_view stored) const;
    void write(const std::string& file_name, std::string_view plain);

    Folder folder;
    std::optional<SecretBytes> at_rest_key;
    std::mutex mutex;  // one operation at a time in this process; FolderLock for the others
    asio::thread_pool worker{1};
};

std::string SecretsStore::Impl::encode(const std::string& file_name, std::string_view plain) const {
    return at_rest_key ? storage::seal(*at_rest_key, file_name, plain) : std::string(plain);
}

std::string SecretsStore::Impl::decode(const std::string& file_name,
                                       std::string_view stored) const {
    if (!storage::looks_sealed(stored)) {
        return std::string(stored);  // plain; encrypted when next written if a key is set
    }
    if (!at_rest_key) {
        throw Error(ErrorKind::invalid_state,
                    "it is encrypted, but no at-rest key ($CREDENTIALS_DIRECTORY/" +
                        std::string(storage::at_rest_key_file_name) + ") is configured");
    }
    return storage::unseal(*at_rest_key, file_name, stored);
}

void SecretsStore::Impl::write(const std::string& file_name, std::string_view plain) {
    WipedString stored(encode(file_name, plain));
    const std::scoped_lock guard(mutex);
    const FolderLock lock(folder);
    storage::write_file_atomically(folder, file_name, stored.view());
}

std::optional<StoredDevice> SecretsStore::Impl::load_device(const std::string& file_name) {
    const std::string shown = (folder.path() / file_name).string();
    storage::ReadResult result =
        storage::read_private_file(folder, file_name, storage::max_file_size);
    if (auto* refusal = std::get_if<storage::Refusal>(&result)) {
        spdlog::warn("ignoring credentials file {}: {}", shown, refusal->reason);
        return std::nullopt;
    }
    if (std::holds_alternative<storage::Missing>(result)) {
        return std::nullopt;  // removed since the folder was listed
    }
    try {
        WipedString stored(std::move(std::get<std::string>(result)));
        WipedString text(decode(file_name, stored.view()));
        StoredDevice device = storage::parse_device(text.view());
        if (storage::device_file_name(device.device_id) != file_name) {
            spdlog::warn(
                "ignoring credentials file {}: its name does not match the device id "
                "inside; it was renamed or copied by hand",
                shown);
            return std::nullopt;
        }
        return device;
    } catch (const Error& error) {
        const bool malformed = error.kind() == ErrorKind::invalid_arguments &&
                               std::string_view(error.what()).starts_with("line ");
        spdlog::warn("ignoring credentials file {}: {}{}", shown, malformed ? "malformed, " : "",
                     error.what());
        return std::nullopt;
    }
}

SecretsStore::SecretsStore(std::filesystem::path directory)
    : SecretsStore(std::move(directory), std::nullopt) {}

SecretsStore::SecretsStore(std::filesystem::path directory, std::optional<SecretBytes> at_rest_key)
    : impl_(std::make_unique<Impl>(std::move(directory), std::move(at_rest_key))) {
    if (impl_->at_rest_key && impl_->at_rest_key->size() != storage::at_rest_key_size) {
        throw Error(ErrorKind::invalid_arguments, "the at-rest key must be 32 bytes");
    }
}

std::optional<SecretBytes> SecretsStore::at_rest_key_from_environment() {
    const char* credentials_directory = std::getenv("CREDENTIALS_DIRECTORY");
    if (credentials_directory == nullptr || *credentials_directory == '\0') {
        return std::nullopt;
    }
    return storage::read_at_rest_key(credentials_directory);
}

SecretsStore::~SecretsStore() = default;

const std::filesystem::path& SecretsStore::directory() const {
    return impl_->folder.path();
}

std::string SecretsStore::file_name_for(std::string_view device_id) {
    return storage::device_file_name(device_id);
}

std::vector<StoredDevice> SecretsStore::load_all() {
    const std::scoped_lock guard(impl_->mutex);
    const FolderLock lock(impl_->folder);
    std::vector<StoredDevice> devices;
    for (const std::string& name : impl_->folder.entries()) {
        if (name.starts_with(storage::temporary_prefix)) {
            // Nobody writes while we hold the lock, so this is left over from a crash.
            const bool removed = storage::remove_leftover(impl_->folder, name);
            spdlog::info("{} the unfinished temporary file {} left by an interrupted write",
                         removed ? "removed" : "could not remove",
                         (impl_->folder.path() / name).string());
        } else if (has_suffix(name, storage::device_file_suffix)) {
            if (auto device = impl_->load_device(name)) {
                devices.push_back(std::move(*device));
            }
        }
    }
    std::sort(devices.begin(), devices.end(), [](const StoredDevice& a, const StoredDevice& b) {
        return a.device_id < b.device_id;
    });
    return devices;
}

void SecretsStore::save(const StoredDevice& device) {
    WipedString text(storage::serialize_device(device));
    impl_->write(storage::device_file_name(device.device_id), text.view());
}

void SecretsStore::remove(std::string_view device_id) {
    if (device_id.empty()) {
        throw Error(ErrorKind::device_id_missing, "no device id given to remove credentials for");
    }
    const std::scoped_lock guard(impl_->mutex);
    const FolderLock lock(impl_->folder);
    storage::remove_file_durably(impl_->folder, storage::device_file_name(device_id));
}

asio::awaitable<void> SecretsStore::save_async(StoredDevice device) {
    auto work = [this, device = std::move(device)] { save(device); };
    co_await run_on(impl_->worker, std::move(work));
}

asio::awaitable<void> SecretsStore::remove_async(std::string device_id) {
    auto work = [this, device_id = std::move(device_id)] { remove(device_id); };
    co_await run_on(impl_->worker, std::move(work));
}

SecretsStore::Identity SecretsStore::load_or_create_identity() {
    const std::scoped_lock guard(impl_->mutex);
    const FolderLock lock(impl_->folder);
    const std::string name(storage::identity_file_name);
    const std::string shown = (impl_->folder.path() / name).string();
    storage::ReadResult result =
        storage::read_private_file(impl_->folder, name, storage::max_file_size);
    if (auto* refusal = std::get_if<storage::Refusal>(&result)) {
        spdlog::warn("refusing the client identity file {}: {}", shown, refusal->reason);
        throw Error(ErrorKind::invalid_state,
                    "the client identity file " + shown + " cannot be used: " + refusal->reason +
                        " (deleting it creates a new identity and every device must be paired "
                        "again)");
    }
    if (auto* text = std::get_if<std::string>(&result)) {
        WipedString stored(std::move(*text));
        try {
            WipedString plain(impl_->decode(name, stored.view()));
            return storage::parse_identity(plain.view());
        } catch (const Error& error) {
            spdlog::warn("refusing the client identity file {}: {}", shown, error.what());
            throw Error(ErrorKind::invalid_state,
                        "the client identity file " + shown + " cannot be used (" + error.what() +
                            "); deleting it creates a new identity and every device must be "
                            "paired again");
        }
    }
    Identity identity{.client_id = random_uuid(false), .seed = SecretBytes(random_bytes(32))};
    WipedString text(storage::serialize_identity(identity));
    WipedString stored(impl_->encode(name, text.view()));
    storage::write_file_atomically(impl_->folder, name, stored.view());
    spdlog::info("created a new client identity in {}", shown);
    return identity;
}

}  // namespace atv
