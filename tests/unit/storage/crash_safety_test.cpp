// A process that saves in a loop is killed (SIGKILL) at random moments; after every kill each
// file in the folder must load and the last save that returned must be there.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <thread>

#include "atv/storage.hpp"
#include "storage/private_files.hpp"
#include "store_test_support.hpp"

namespace atv::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kills = 200;

struct Report {
    std::uint32_t round;
    std::uint32_t saves;
};

std::string counter_text(std::uint32_t round, std::uint32_t saves) {
    // Long enough that a write is more than one syscall's worth of work for the kernel to tear.
    return std::to_string(round) + ":" + std::to_string(saves) + ":" + std::string(6000, 'p');
}

StoredDevice busy_device(std::uint32_t round, std::uint32_t saves) {
    StoredDevice device;
    device.device_id = "busy";
    device.name = "saved over and over";
    device.credentials = {{Protocol::mrp, counter_text(round, saves)}};
    return device;
}

StoredDevice steady_device() {
    StoredDevice device;
    device.device_id = "steady";
    device.identifiers = {"steady", "steady-2"};
    device.name = "saved once";
    device.credentials = {{Protocol::companion, "never changes"}};
    return device;
}

// Child: saves `busy` (and saves and removes `flicker`) forever, reporting each finished save.
[[noreturn]] void save_forever(const std::filesystem::path& folder, std::uint32_t round,
                               int report_fd) {
    SecretsStore store(folder);
    for (std::uint32_t saves = 1;; ++saves) {
        store.save(busy_device(round, saves));
        const Report report{round, saves};
        if (::write(report_fd, &report, sizeof report) != sizeof report) {
            ::_exit(2);
        }
        StoredDevice flicker = steady_device();
        flicker.device_id = "flicker";
        if (saves % 2 == 0) {
            store.save(flicker);
        } else {
            store.remove("flicker");
        }
    }
}

// The last report fully written to the pipe, if any.
std::optional<Report> last_report(int read_fd) {
    std::optional<Report> last;
    Report report{};
    while (::read(read_fd, &report, sizeof report) == sizeof report) {
        last = report;
    }
    return last;
}

TEST(CrashSafety, EveryFileLoadsAfterSigkillAndTheLastSaveIsKept) {
    testing::TemporaryFolder temporary;
    const std::filesystem::path folder = temporary.path() / "state";
    testing::LogCapture log;
    {
        SecretsStore store(folder);
        store.save(steady_device());
    }
    std::mt19937 random(20261125);
    std::uniform_int_distribution<int> delay_us(0, 30000);
    std::optional<StoredDevice> previous_busy;
    int rounds_with_saves = 0;
    int leftovers_removed = 0;
    for (std::uint32_t round = 1; round <= kills; ++round) {
        int pipe_fds[2];
        ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(pipe_fds[0]);
            save_forever(folder, round, pipe_fds[1]);
        }
        ::close(pipe_fds[1]);
        // Three rounds in four wait for the first finished save, so that those kills hit a
        // process in the middle of saving however loaded the machine is; the fourth may kill
        // it at any moment from its start.
        std::optional<Report> first;
        if (round % 4 != 0) {
            Report report{};
            ASSERT_EQ(::read(pipe_fds[0], &report, sizeof report),
                      static_cast<ssize_t>(sizeof report))
                << "the saving process reported no save in round " << round;
            first = report;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
        ASSERT_EQ(::kill(child, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the saving process ended on its own in round " << round;
        std::optional<Report> last = last_report(pipe_fds[0]);
        if (!last) {
            last = first;
        }
        ::close(pipe_fds[0]);

        log.clear();
        SecretsStore store(folder);
        const std::vector<StoredDevice> devices = store.load_all();
        ASSERT_THAT(log.text(), Not(HasSubstr("ignoring"))) << "round " << round;
        std::map<std::string, StoredDevice> by_id;
        for (const StoredDevice& device : devices) {
            by_id.emplace(device.device_id, device);
        }
        ASSERT_EQ(by_id.count("steady"), 1U) << "round " << round;
        EXPECT_EQ(by_id.at("steady"), steady_device());
        if (by_id.contains("flicker")) {
            EXPECT_EQ(by_id.at("flicker").credentials, steady_device().credentials);
        }
        const std::uint32_t saves = last ? last->saves : 0;
        std::optional<StoredDevice> busy;
        if (by_id.contains("busy")) {
            busy = by_id.at("busy");
        }
        // The kill may land after a save finished but before it was reported: one more is fine.
        // Without any save this round, the file of the round before must be untouched.
        const bool as_expected =
            saves == 0
                ? (busy == previous_busy || busy == busy_device(round, 1))
                : (busy == busy_device(round, saves) || busy == busy_device(round, saves + 1));
        ASSERT_TRUE(as_expected) << "round " << round << ": last reported save " << saves
                                 << " is not what is on disk";
        previous_busy = busy;
        rounds_with_saves += saves > 0 ? 1 : 0;
        leftovers_removed += log.text().find("removed the unfinished") != std::string::npos ? 1 : 0;
        for (const auto& entry : std::filesystem::directory_iterator(folder)) {
            ASSERT_FALSE(entry.path().filename().string().starts_with(temporary_prefix))
                << "a temporary file survived load_all in round " << round;
        }
    }
    // Make sure the kills hit a process that was saving, some of them in the middle of a write.
    std::printf("%d of %d rounds saved before the kill; %d left a temporary file\n",
                rounds_with_saves, kills, leftovers_removed);
    EXPECT_GE(rounds_with_saves, kills * 3 / 4);
    EXPECT_GE(leftovers_removed, 1);
}

}  // namespace
}  // namespace atv::storage
