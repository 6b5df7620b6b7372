// Blocking file primitives of the secrets store, all relative to an open folder descriptor so
// that a renamed or replaced path cannot redirect them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace atv::storage {

// An open folder (O_DIRECTORY) that is closed when it goes away.
class Folder {
  public:
    enum class Role : std::uint8_t { state, existing };
    // A state folder is created with mode 0700 (and missing parents) when it does not exist, and
    // a warning is logged when it is open to other users; an existing one (such as systemd's
    // credentials folder) is only opened. Throws atv::Error(invalid_state) on failure.
    explicit Folder(std::filesystem::path path, Role role = Role::state);
    ~Folder();
    Folder(const Folder&) = delete;
    Folder& operator=(const Folder&) = delete;

    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    // Names of the entries (not "." or "..").
    [[nodiscard]] std::vector<std::string> entries() const;

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// Holds flock(LOCK_EX) on a folder, so that another process using the same folder waits.
class FolderLock {
  public:
    explicit FolderLock(const Folder& folder);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

  private:
    int fd_;
};

struct Refusal {
    std::string reason;  // why the file may not be used, and what to do; never its content
};
struct Missing {};
using ReadResult = std::variant<std::string, Refusal, Missing>;

// Reads a file only if it is a regular file (not a symbolic link) owned by the effective user,
// with no permission for group or others, and at most max_size bytes. The caller wipes the text.
ReadResult read_private_file(const Folder& folder, const std::string& name, std::size_t max_size);

// Replaces `name` with `content`, atomically and durably: a new 0600 temporary file
// (O_CREAT|O_EXCL), full write, fsync, rename over `name`, fsync of the folder. On failure the
// temporary file is removed, the old file is untouched and atv::Error(invalid_state) says what
// went wrong and what to do.
void write_file_atomically(const Folder& folder, const std::string& name, std::string_view content);

// Unlinks `name` and makes that durable; a missing file is fine.
void remove_file_durably(const Folder& folder, const std::string& name);

// Temporary files start with this prefix; one found without a writer is a crash's leftover.
inline constexpr std::string_view temporary_prefix = ".tmp-";

// Removes a temporary file left behind by an interrupted write; false when it could not.
bool remove_leftover(const Folder& folder, const std::string& name);

}  // namespace atv::storage
