#include "storage/private_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "atv/error.hpp"
#include "support/bytes.hpp"

namespace atv::storage {

namespace {

constexpr int max_temporary_name_attempts = 16;

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// A message a person can act on, for an errno met while doing `action` in `folder`.
std::string describe_failure(int error, const std::filesystem::path& folder,
                             const std::string& action) {
    const std::string where = folder.string();
    switch (error) {
        case ENOSPC:
            return "no space left on the device holding " + where + " (" + action +
                   "); free some space and try again";
        case EDQUOT:
            return "disk quota exceeded on the device holding " + where + " (" + action +
                   "); free some space or raise the quota and try again";
        case EIO:
            return "input/output error on the device holding " + where + " (" + action +
                   "); the disk may be failing, check the kernel log";
        case EACCES:
        case EPERM:
            return "permission denied in " + where + " (" + action +
                   "); the folder must be writable by uid " + std::to_string(geteuid()) +
                   " (check its owner and mode, or ReadWritePaths= of the service)";
        case EROFS:
            return where + " is on a read-only file system (" + action +
                   "); give atvd a writable state folder (--state-dir)";
        case EFBIG:
            return "file size limit reached in " + where + " (" + action +
                   "); raise the limit (ulimit -f, LimitFSIZE=) and try again";
        case EMFILE:
        case ENFILE:
            return "too many open files (" + action + " in " + where +
                   "); raise the limit (ulimit -n, LimitNOFILE=) or close some";
        default:
            return action + " in " + where + " failed: " + std::strerror(error);
    }
}

[[noreturn]] void throw_failure(int error, const std::filesystem::path& folder,
                                const std::string& action) {
    throw Error(ErrorKind::invalid_state, describe_failure(error, folder, action));
}

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    FileDescriptor& operator=(FileDescriptor&&) = delete;

    [[nodiscard]] int get() const { return fd_; }
    // close() can report a late write error (NFS, quotas); returns 0 or an errno.
    int close_reporting() {
        const int result = ::close(fd_);
        fd_ = -1;
        return result == 0 || errno == EINTR ? 0 : errno;
    }

  private:
    int fd_;
};

// Returns 0 or the errno of the failed write.
int write_all(int fd, std::string_view content) {
    while (!content.empty()) {
        const ssize_t written = ::write(fd, content.data(), content.size());
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        if (written == 0) {
            return EIO;
        }
        content.remove_prefix(static_cast<std::size_t>(written));
    }
    return 0;
}

int fsync_retrying(int fd) {
    while (::fsync(fd) != 0) {
        if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

std::pair<FileDescriptor, std::string> create_temporary(const Folder& folder,
                                                        const std::string& target) {
    for (int attempt = 0; attempt < max_temporary_name_attempts; ++attempt) {
        std::string name = std::string(temporary_prefix) + to_hex(random_bytes(8));
        const int fd = ::openat(folder.fd(), name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            return {FileDescriptor(fd), std::move(name)};
        }
        if (errno != EEXIST) {
            throw_failure(errno, folder.path(), "creating a temporary file for " + target);
        }
    }
    throw_failure(EEXIST, folder.path(), "creating a temporary file for " + target);
}

std::string read_all(int fd, std::size_t max_size, int& error) {
    std::string text;
    text.reserve(max_size + 1);  // never grows, so no copy of a secret is left behind
    text.resize(max_size + 1);
    std::size_t filled = 0;
    error = 0;
    while (filled < text.size()) {
        const ssize_t got = ::read(fd, text.data() + filled, text.size() - filled);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            error = errno;
            break;
        }
        if (got == 0) {
            break;
        }
        filled += static_cast<std::size_t>(got);
    }
    wipe(text.data() + filled, text.size() - filled);
    text.resize(filled);
    return text;
}

std::optional<std::string> ownership_problem(const struct stat& status) {
    if (status.st_uid != geteuid()) {
        return "it is owned by uid " + std::to_string(status.st_uid) + ", not by uid " +
               std::to_string(geteuid()) + " that atvd runs as; fix it with chown or delete it";
    }
    if ((status.st_mode & 077) != 0) {
        return "its mode " + octal_mode(status.st_mode) +
               " lets other users read or change it; fix it with chmod 600 or delete it";
    }
    return std::nullopt;
}

}  // namespace

Folder::Folder(std::filesystem::path path, Role role) : path_(std::move(path)) {
    std::error_code error;
    if (role == Role::state && !std::filesystem::exists(path_, error)) {
        if (path_.has_parent_path()) {
            std::filesystem::create_directories(path_.parent_path(), error);
        }
        if (::mkdir(path_.c_str(), 0700) != 0 && errno != EEXIST) {
            throw_failure(errno, path_.parent_path(),
                          "creating the state folder " + path_.string());
        }
        if (::chmod(path_.c_str(), 0700) != 0) {
            throw_failure(errno, path_, "setting mode 0700 on the state folder");
        }
    }
    fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) {
        throw_failure(errno, path_, "opening the folder");
    }
    struct stat status {};
    if (role == Role::state && ::fstat(fd_, &status) == 0 &&
        (status.st_uid != geteuid() || (status.st_mode & 077) != 0)) {
        spdlog::warn("state folder {} is owned by uid {} with mode {}; expected uid {} and 0700",
                     path_.string(), status.st_uid, octal_mode(status.st_mode), geteuid());
    }
}

Folder::~Folder() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::vector<std::string> Folder::entries() const {
    const int listing_fd = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing_fd < 0) {
        throw_failure(errno, path_, "listing the state folder");
    }
    DIR* listing = ::fdopendir(listing_fd);
    if (listing == nullptr) {
        const int error = errno;
        ::close(listing_fd);
        throw_failure(error, path_, "listing the state folder");
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(listing)) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") {
            names.emplace_back(name);
        }
    }
    ::closedir(listing);
    return names;
}

FolderLock::FolderLock(const Folder& folder) : fd_(folder.fd()) {
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno != EINTR) {
            throw_failure(errno, folder.path(), "locking the state folder");
        }
    }
}

FolderLock::~FolderLock() {
    ::flock(fd_, LOCK_UN);
}

ReadResult read_private_file(const Folder& folder, const std::string& name, std::size_t max_size) {
    struct stat status {};
    if (::fstatat(folder.fd(), name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return Missing{};
        }
        return Refusal{std::string("it cannot be examined: ") + std::strerror(errno)};
    }
    if (S_ISLNK(status.st_mode)) {
        return Refusal{"it is a symbolic link; store the file itself here"};
    }
    if (!S_ISREG(status.st_mode)) {
        return Refusal{"it is not a regular file"};
    }
    FileDescriptor file(::openat(folder.fd(), name.c_str(),
                                 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (file.get() < 0) {
        if (errno == ENOENT) {
            return Missing{};
        }
        return Refusal{errno == ELOOP
                           ? std::string("it is a symbolic link")
                           : std::string("it cannot be opened: ") + std::strerror(errno)};
    }
    // Judge what was opened, not what the name pointed at a moment ago.
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
        return Refusal{"it is not a regular file"};
    }
    if (auto problem = ownership_problem(status)) {
        return Refusal{*problem};
    }
    if (static_cast<std::uintmax_t>(status.st_size) > max_size) {
        return Refusal{"it is " + std::to_string(status.st_size) + " bytes, over the limit of " +
                       std::to_string(max_size)};
    }
    int error = 0;
    std::string text = read_all(file.get(), max_size, error);
    if (error != 0 || text.size() > max_size) {
        wipe(text.data(), text.size());
        return Refusal{error != 0 ? std::string("reading it failed: ") + std::strerror(error)
                                  : "it grew over the limit of " + std::to_string(max_size)};
    }
    return text;
}

void write_file_atomically(const Folder& folder, const std::string& name,
                           std::string_view content) {
    auto [file, temporary] = create_temporary(folder, name);
    const std::string action = "writing " + name;
    int error = write_all(file.get(), content);
    if (error == 0) {
        error = fsync_retrying(file.get());
    }
    const int close_error = file.close_reporting();
    if (error == 0) {
        error = close_error;
    }
    if (error == 0 && ::renameat(folder.fd(), temporary.c_str(), folder.fd(), name.c_str()) != 0) {
        error = errno;
    }
    if (error != 0) {
        ::unlinkat(folder.fd(), temporary.c_str(), 0);
        throw_failure(error, folder.path(), action);
    }
    error = fsync_retrying(folder.fd());
    if (error != 0) {
        throw_failure(error, folder.path(), "making the new " + name + " durable");
    }
}

void remove_file_durably(const Folder& folder, const std::string& name) {
    if (::unlinkat(folder.fd(), name.c_str(), 0) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw_failure(errno, folder.path(), "removing " + name);
    }
    const int error = fsync_retrying(folder.fd());
    if (error != 0) {
        throw_failure(error, folder.path(), "making the removal of " + name + " durable");
    }
}

bool remove_leftover(const Folder& folder, const std::string& name) {
    return ::unlinkat(folder.fd(), name.c_str(), 0) == 0 || errno == ENOENT;
}

}  // namespace atv::storage
