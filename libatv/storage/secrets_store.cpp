#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/async_result.hpp>
#include <asio/bind_executor.hpp>
#include <asio/execution.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <mutex>

#include "atv/error.hpp"
#include "atv/storage.hpp"
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
    explicit Impl(std::filesystem::path directory) : folder(std::move(directory)) {}
    ~Impl() { worker.join(); }

    std::optional<StoredDevice> load_device(const std::string& file_name);

    Folder folder;
    std::mutex mutex;  // one operation at a time in this process; FolderLock for the others
    asio::thread_pool worker{1};
};

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
    WipedString text(std::move(std::get<std::string>(result)));
    try {
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
        spdlog::warn("ignoring credentials file {}: malformed, {}", shown, error.what());
        return std::nullopt;
    }
}

SecretsStore::SecretsStore(std::filesystem::path directory)
    : impl_(std::make_unique<Impl>(std::move(directory))) {}

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
    const std::scoped_lock guard(impl_->mutex);
    const FolderLock lock(impl_->folder);
    storage::write_file_atomically(impl_->folder, storage::device_file_name(device.device_id),
                                   text.view());
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
        WipedString owned(std::move(*text));
        try {
            return storage::parse_identity(owned.view());
        } catch (const Error& error) {
            spdlog::warn("refusing the client identity file {}: malformed, {}", shown,
                         error.what());
            throw Error(ErrorKind::invalid_state,
                        "the client identity file " + shown + " is malformed (" + error.what() +
                            "); deleting it creates a new identity and every device must be "
                            "paired again");
        }
    }
    Identity identity{.client_id = random_uuid(false), .seed = SecretBytes(random_bytes(32))};
    WipedString text(storage::serialize_identity(identity));
    storage::write_file_atomically(impl_->folder, name, text.view());
    spdlog::info("created a new client identity in {}", shown);
    return identity;
}

}  // namespace atv
