// The secrets store against a real folder: round trips, refusals, atomicity, identity, full
// file systems and the asynchronous API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <csignal>
#include <thread>

#include "atv/error.hpp"
#include "atv/storage.hpp"
#include "storage/credentials_file.hpp"
#include "storage/private_files.hpp"
#include "store_test_support.hpp"

namespace atv::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::LogCapture;
using testing::mode_of;
using ::testing::Not;
using testing::read_text_file;
using testing::TemporaryFolder;
using testing::write_text_file;

constexpr uid_t nobody_uid = 65534;

StoredDevice make_device(const std::string& id, const std::string& secret) {
    StoredDevice device;
    device.device_id = id;
    device.identifiers = {id, "id-2-of-" + id};
    device.name = "Living Room";
    device.credentials = {{Protocol::mrp, secret}, {Protocol::airplay, secret + "-airplay"}};
    return device;
}

std::vector<std::string> temporary_files_in(const std::filesystem::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(temporary_prefix)) {
            names.push_back(name);
        }
    }
    return names;
}

class SecretsStoreTest : public ::testing::Test {
  protected:
    TemporaryFolder temporary;
    std::filesystem::path folder = temporary.path() / "state";
    LogCapture log;

    [[nodiscard]] std::filesystem::path file_of(const std::string& device_id) const {
        return folder / SecretsStore::file_name_for(device_id);
    }
};

TEST_F(SecretsStoreTest, CreatesMissingFolderWithMode0700) {
    const std::filesystem::path nested = temporary.path() / "a" / "b" / "atvd";
    SecretsStore store(nested);
    EXPECT_TRUE(std::filesystem::is_directory(nested));
    EXPECT_EQ(mode_of(nested), 0700U);
    EXPECT_EQ(store.directory(), nested);
}

TEST_F(SecretsStoreTest, WarnsAboutAStateFolderOpenToOthers) {
    std::filesystem::create_directory(folder);
    ASSERT_EQ(::chmod(folder.c_str(), 0755), 0);
    const SecretsStore store(folder);
    EXPECT_THAT(log.text(),
                HasSubstr("warning state folder " + folder.string() + " is owned by uid " +
                          std::to_string(::geteuid()) + " with mode 0755; expected"));
    EXPECT_EQ(mode_of(folder), 0755U);  // the administrator's choice is left alone
}

TEST_F(SecretsStoreTest, RoundTripOfEveryField) {
    StoredDevice device = make_device("AA:BB:CC:DD:EE:FF", "secret-one");
    device.name = "Schlafzimmer\n100% \"TV\"";
    device.credentials[Protocol::companion] = "c:o:m:p";
    device.credentials[Protocol::dmap] = "0x0123456789ABCDEF";
    device.credentials[Protocol::raop] = "r";
    {
        SecretsStore store(folder);
        store.save(device);
        store.save(make_device("other", "secret-two"));
    }
    SecretsStore reopened(folder);
    EXPECT_THAT(reopened.load_all(), ElementsAre(device, make_device("other", "secret-two")));
    EXPECT_EQ(mode_of(file_of(device.device_id)), 0600U);
    EXPECT_THAT(temporary_files_in(folder), IsEmpty());
}

TEST_F(SecretsStoreTest, SaveReplacesTheDevicesFile) {
    SecretsStore store(folder);
    store.save(make_device("dev", "first"));
    store.save(make_device("dev", "second"));
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("dev", "second")));
}

TEST_F(SecretsStoreTest, RemoveDeletesAndMissingIsFine) {
    SecretsStore store(folder);
    store.save(make_device("keep", "k"));
    store.save(make_device("drop", "d"));
    store.remove("drop");
    EXPECT_FALSE(std::filesystem::exists(file_of("drop")));
    EXPECT_NO_THROW(store.remove("drop"));
    EXPECT_NO_THROW(store.remove("never-stored"));
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("keep", "k")));
    EXPECT_THROW(store.remove(""), Error);
}

TEST_F(SecretsStoreTest, SaveWithoutDeviceIdIsRefused) {
    SecretsStore store(folder);
    try {
        store.save(make_device("", "x"));
        FAIL() << "saved a device without id";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::device_id_missing);
    }
    EXPECT_THAT(store.load_all(), IsEmpty());
}

TEST_F(SecretsStoreTest, RefusesFileReadableByOthersAndKeepsLoadingTheRest) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    store.save(make_device("open", "TOPSECRET"));
    ASSERT_EQ(::chmod(file_of("open").c_str(), 0644), 0);
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    const std::string text = log.text();
    EXPECT_THAT(text, HasSubstr("warning ignoring credentials file " + file_of("open").string() +
                                ": its mode 0644 lets other users read or change it"));
    EXPECT_THAT(text, Not(HasSubstr("TOPSECRET")));
    ASSERT_EQ(::chmod(file_of("open").c_str(), 0640), 0);
    log.clear();
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    EXPECT_THAT(log.text(), HasSubstr("mode 0640"));
}

TEST_F(SecretsStoreTest, RefusesFileOfAnotherOwner) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    store.save(make_device("foreign", "TOPSECRET"));
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(file_of("foreign").c_str(), nobody_uid, nobody_uid), 0);
        EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
        EXPECT_THAT(log.text(), HasSubstr("ignoring credentials file " +
                                          file_of("foreign").string() + ": it is owned by uid " +
                                          std::to_string(nobody_uid) + ", not by uid 0"));
        EXPECT_THAT(log.text(), Not(HasSubstr("TOPSECRET")));
    } else {
        // Without root no file can be given away; a root-owned private file stands in.
        const Folder etc("/etc");
        const ReadResult result = read_private_file(etc, "shadow", max_file_size);
        ASSERT_TRUE(std::holds_alternative<Refusal>(result));
        EXPECT_THAT(std::get<Refusal>(result).reason, HasSubstr("owned by uid 0"));
    }
}

TEST_F(SecretsStoreTest, RefusesSymbolicLinks) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    // A valid file elsewhere, linked in under the name the device would have.
    SecretsStore elsewhere(temporary.path() / "elsewhere");
    elsewhere.save(make_device("linked", "TOPSECRET"));
    std::filesystem::create_symlink(
        temporary.path() / "elsewhere" / SecretsStore::file_name_for("linked"), file_of("linked"));
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    EXPECT_THAT(log.text(), HasSubstr("ignoring credentials file " + file_of("linked").string() +
                                      ": it is a symbolic link"));
}

TEST_F(SecretsStoreTest, RefusesOversizedAndNonRegularFiles) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    std::string big = serialize_device(make_device("big", "b"));
    big.insert(big.find("name"), std::string(70 * 1024, 'x'));
    write_text_file(file_of("big"), big);
    std::filesystem::create_directory(folder / "directory.creds");
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    EXPECT_THAT(log.text(), HasSubstr(file_of("big").string() + ": it is " +
                                      std::to_string(big.size()) + " bytes, over the limit"));
    EXPECT_THAT(log.text(), HasSubstr("directory.creds: it is not a regular file"));
}

TEST_F(SecretsStoreTest, RefusesMalformedFilesWithoutQuotingThem) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    write_text_file(folder / "garbage_0000000000000000.creds", "TOPSECRET garbage\n");
    std::string truncated = serialize_device(make_device("cut", "TOPSECRET"));
    truncated.resize(truncated.size() - 4);
    write_text_file(file_of("cut"), truncated);
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    const std::string text = log.text();
    EXPECT_THAT(text, HasSubstr("garbage_0000000000000000.creds: malformed, line 1: not a file"));
    EXPECT_THAT(text, HasSubstr(file_of("cut").string() + ": malformed, line "));
    EXPECT_THAT(text, Not(HasSubstr("TOPSECRET")));
}

TEST_F(SecretsStoreTest, RefusesFileWhoseNameDoesNotMatchItsDevice) {
    SecretsStore store(folder);
    store.save(make_device("original", "o"));
    std::filesystem::copy_file(file_of("original"), folder / "copy_0000000000000000.creds");
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("original", "o")));
    EXPECT_THAT(log.text(), HasSubstr("copy_0000000000000000.creds: its name does not match"));
}

TEST_F(SecretsStoreTest, LeftoverTemporaryFileIsIgnoredAndRemoved) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    const std::string partial = serialize_device(make_device("good", "newer")).substr(0, 30);
    write_text_file(folder / ".tmp-0123456789abcdef", partial);
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    EXPECT_FALSE(std::filesystem::exists(folder / ".tmp-0123456789abcdef"));
    EXPECT_THAT(log.text(), HasSubstr("removed the unfinished temporary file"));
}

TEST_F(SecretsStoreTest, OtherFilesInTheFolderAreLeftAlone) {
    SecretsStore store(folder);
    store.save(make_device("good", "g"));
    write_text_file(folder / "README", "notes", 0644);
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("good", "g")));
    EXPECT_TRUE(std::filesystem::exists(folder / "README"));
    EXPECT_THAT(log.text(), Not(HasSubstr("README")));
}

TEST_F(SecretsStoreTest, IdentityIsCreatedOnceAndStable) {
    std::string client_id;
    Bytes seed;
    {
        SecretsStore store(folder);
        const SecretsStore::Identity identity = store.load_or_create_identity();
        client_id = identity.client_id;
        seed.assign(identity.seed.view().begin(), identity.seed.view().end());
        EXPECT_EQ(identity.seed.size(), 32U);
        EXPECT_EQ(client_id.size(), 36U);
        EXPECT_EQ(client_id, parse_identity(read_text_file(folder / "identity")).client_id);
        const SecretsStore::Identity again = store.load_or_create_identity();
        EXPECT_EQ(again.client_id, client_id);
    }
    EXPECT_EQ(mode_of(folder / "identity"), 0600U);
    SecretsStore reopened(folder);
    const SecretsStore::Identity identity = reopened.load_or_create_identity();
    EXPECT_EQ(identity.client_id, client_id);
    EXPECT_EQ(Bytes(identity.seed.view().begin(), identity.seed.view().end()), seed);
    EXPECT_THAT(reopened.load_all(), IsEmpty());  // the identity is not a device

    TemporaryFolder other;
    EXPECT_NE(SecretsStore(other.path()).load_or_create_identity().client_id, client_id);
}

TEST_F(SecretsStoreTest, UnusableIdentityIsAnErrorNotAReplacement) {
    SecretsStore store(folder);
    const std::string client_id = store.load_or_create_identity().client_id;
    const std::string original = read_text_file(folder / "identity");

    ASSERT_EQ(::chmod((folder / "identity").c_str(), 0644), 0);
    try {
        store.load_or_create_identity();
        FAIL() << "used an identity file readable by others";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::invalid_state);
        EXPECT_THAT(error.what(), HasSubstr("mode 0644"));
    }
    ASSERT_EQ(::chmod((folder / "identity").c_str(), 0600), 0);

    write_text_file(folder / "identity", original.substr(0, original.size() - 4));
    try {
        store.load_or_create_identity();
        FAIL() << "used a truncated identity file";
    } catch (const Error& error) {
        EXPECT_THAT(error.what(), HasSubstr("cannot be used (line "));
        EXPECT_THAT(error.what(), Not(HasSubstr(original.substr(original.find("seed ") + 5, 64))));
    }
    EXPECT_EQ(read_text_file(folder / "identity"), original.substr(0, original.size() - 4));
}

// Fills the file system under `path` completely.
void fill(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(4096, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    while (::write(fd, block.data(), 1) > 0) {
    }
    ::close(fd);
}

void expect_failed_save_keeps_old_file(SecretsStore& store, const std::string& expected_message) {
    const StoredDevice big = make_device("dev", std::string(16 * 1024, 's'));
    try {
        store.save(big);
        FAIL() << "save succeeded without space";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::invalid_state);
        EXPECT_THAT(error.what(), HasSubstr(expected_message));
        EXPECT_THAT(error.what(), HasSubstr(store.directory().string()));
    }
    EXPECT_THAT(temporary_files_in(store.directory()), IsEmpty());
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("dev", "old")));
}

// Makes write() fail with EFBIG past `limit` bytes while alive.
class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t limit) {
        ::getrlimit(RLIMIT_FSIZE, &previous_);
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lowered = previous_;
        lowered.rlim_cur = limit;
        ::setrlimit(RLIMIT_FSIZE, &lowered);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &previous_);
        std::signal(SIGXFSZ, previous_handler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  private:
    rlimit previous_{};
    void (*previous_handler_)(int) = nullptr;
};

TEST_F(SecretsStoreTest, SaveOnFullFileSystemKeepsOldFileAndSaysWhy) {
    const std::filesystem::path mount_point = temporary.path() / "small";
    std::filesystem::create_directory(mount_point);
    if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=256k,mode=0700") != 0) {
        // No permission to mount: exhaust the file size limit instead (EFBIG), which takes the
        // same failure path.
        SecretsStore store(folder);
        store.save(make_device("dev", "old"));
        const FileSizeLimit limit(4096);
        expect_failed_save_keeps_old_file(store, "file size limit reached in");
        return;
    }
    {
        SecretsStore store(mount_point / "atvd");
        store.save(make_device("dev", "old"));
        fill(mount_point / "filler");
        expect_failed_save_keeps_old_file(store, "no space left on the device holding");
        std::filesystem::remove(mount_point / "filler");
        store.save(make_device("dev", "after"));
        EXPECT_THAT(store.load_all(), ElementsAre(make_device("dev", "after")));
    }
    EXPECT_EQ(::umount2(mount_point.c_str(), MNT_DETACH), 0);
}

TEST_F(SecretsStoreTest, SaveOverFileSizeLimitKeepsOldFileAndSaysWhy) {
    SecretsStore store(folder);
    store.save(make_device("dev", "old"));
    const FileSizeLimit limit(4096);
    expect_failed_save_keeps_old_file(store, "file size limit reached in");
}

TEST_F(SecretsStoreTest, SaveInUnwritableFolderSaysWhatToFix) {
    SecretsStore store(folder);
    store.save(make_device("dev", "old"));
    // Root may write anywhere, so it gets a read-only bind mount; other users a folder without
    // write permission.
    const bool bound =
        ::mount(folder.c_str(), folder.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
        ::mount(nullptr, folder.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0;
    if (!bound) {
        ASSERT_NE(::geteuid(), 0U) << "root could not bind-mount the folder read-only";
        ASSERT_EQ(::chmod(folder.c_str(), 0500), 0);
    }
    {
        SecretsStore read_only(folder);  // opened after the mount, so it sees it
        try {
            read_only.save(make_device("dev", "new"));
            ADD_FAILURE() << "saved into a read-only folder";
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), ErrorKind::invalid_state);
            EXPECT_THAT(error.what(),
                        HasSubstr(bound ? folder.string() + " is on a read-only file system"
                                        : "permission denied in " + folder.string()));
        }
        EXPECT_THAT(read_only.load_all(), ElementsAre(make_device("dev", "old")));
    }
    if (bound) {
        EXPECT_EQ(::umount2(folder.c_str(), MNT_DETACH), 0);
    } else {
        ::chmod(folder.c_str(), 0700);
    }
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("dev", "old")));
}

TEST_F(SecretsStoreTest, AsyncOperationsRunInOrderAndResumeOnTheCallersThread) {
    SecretsStore store(folder);
    store.save(make_device("removed", "r"));
    asio::io_context loop;
    std::vector<std::string> finished;
    bool resumed_on_loop_thread = true;
    const auto loop_thread = std::this_thread::get_id();
    auto run = [&](std::string label, auto operation) {
        asio::co_spawn(
            loop,
            [&, label, operation]() -> asio::awaitable<void> {
                co_await operation();
                resumed_on_loop_thread &= std::this_thread::get_id() == loop_thread;
                finished.push_back(label);
            },
            asio::detached);
    };
    // Started without waiting for each other: the store keeps their order.
    run("save 1", [&] { return store.save_async(make_device("dev", "one")); });
    run("save 2", [&] { return store.save_async(make_device("dev", "two")); });
    run("remove", [&] { return store.remove_async("removed"); });
    run("save 3", [&] { return store.save_async(make_device("dev", "three")); });
    loop.run();
    EXPECT_THAT(finished, ElementsAre("save 1", "save 2", "remove", "save 3"));
    EXPECT_TRUE(resumed_on_loop_thread);
    EXPECT_THAT(store.load_all(), ElementsAre(make_device("dev", "three")));
}

TEST_F(SecretsStoreTest, AsyncFailureReachesTheCoroutine) {
    SecretsStore store(folder);
    asio::io_context loop;
    std::optional<ErrorKind> caught;
    asio::co_spawn(
        loop,
        [&]() -> asio::awaitable<void> {
            try {
                co_await store.save_async(make_device("", "x"));
            } catch (const Error& error) {
                caught = error.kind();
            }
        },
        asio::detached);
    loop.run();
    EXPECT_EQ(caught, ErrorKind::device_id_missing);
}

TEST_F(SecretsStoreTest, AsyncWorkDoesNotBlockTheLoop) {
    SecretsStore store(folder);
    asio::io_context loop;
    std::vector<std::string> events;
    asio::co_spawn(
        loop,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 20; ++i) {
                co_await store.save_async(make_device("dev-" + std::to_string(i), "s"));
            }
            events.push_back("saved");
        },
        asio::detached);
    asio::post(loop, [&] { events.push_back("other work"); });
    loop.run();
    EXPECT_THAT(events, ElementsAre("other work", "saved"));
    EXPECT_EQ(store.load_all().size(), 20U);
}

}  // namespace
}  // namespace atv::storage
