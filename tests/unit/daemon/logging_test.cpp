// The journal entries atvd writes: what the sink would send, captured instead of sent.
#include "logging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace atvd {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::EndsWith;
using ::testing::Not;
using ::testing::StartsWith;

class JournalSinkTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto sink = make_journal_sink(
            [this](const std::vector<std::string>& fields) { entries.push_back(fields); });
        previous_ = spdlog::default_logger();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("atvd-test", sink));
        spdlog::set_level(spdlog::level::info);
    }

    void TearDown() override { spdlog::set_default_logger(previous_); }

    std::vector<std::vector<std::string>> entries;

  private:
    std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(JournalSinkTest, LineAboutADeviceCarriesItsFieldsAndPlace) {
    const int line = __LINE__ + 1;
    log_about(spdlog::level::info, {"AA:BB:CC:DD:EE:01", {"mrp", "companion"}}, "connected to {}",
              "Living Room");
    ASSERT_EQ(entries.size(), 1U);
    const auto& fields = entries[0];
    EXPECT_THAT(fields, Contains("PRIORITY=6"));
    EXPECT_THAT(fields, Contains("MESSAGE=connected to Living Room"));
    EXPECT_THAT(fields, Contains("SYSLOG_IDENTIFIER=atvd"));
    EXPECT_THAT(fields, Contains("ATVD_DEVICE=AA:BB:CC:DD:EE:01"));
    EXPECT_THAT(fields, Contains("ATVD_PROTOCOL=mrp"));
    EXPECT_THAT(fields, Contains("ATVD_PROTOCOL=companion"));
    EXPECT_THAT(fields, Contains(AllOf(StartsWith("CODE_FILE="), EndsWith("logging_test.cpp"))));
    EXPECT_THAT(fields, Contains("CODE_LINE=" + std::to_string(line)));
    EXPECT_THAT(fields, Contains(StartsWith("CODE_FUNC=")));
}

TEST_F(JournalSinkTest, EmptyPartsAreLeftOut) {
    log_about(spdlog::level::warn, {"", {}}, "nothing to say about a device");
    ASSERT_EQ(entries.size(), 1U);
    EXPECT_THAT(entries[0], Contains("PRIORITY=4"));
    EXPECT_THAT(entries[0], Not(Contains(StartsWith("ATVD_"))));
}

TEST_F(JournalSinkTest, PlainLinesHaveNoDeviceFieldsAndFieldsDoNotLeak) {
    log_about(spdlog::level::info, {"device-1", {"mrp"}}, "about a device");
    spdlog::error("discovery: {}", "Avahi went away");
    ASSERT_EQ(entries.size(), 2U);
    EXPECT_THAT(entries[1], Contains("PRIORITY=3"));
    EXPECT_THAT(entries[1], Contains("MESSAGE=discovery: Avahi went away"));
    EXPECT_THAT(entries[1], Contains("SYSLOG_IDENTIFIER=atvd"));
    EXPECT_THAT(entries[1], Not(Contains(StartsWith("ATVD_"))));
    EXPECT_THAT(entries[1], Not(Contains(StartsWith("CODE_LINE="))));
}

TEST_F(JournalSinkTest, PrioritiesFollowSyslog) {
    spdlog::set_level(spdlog::level::trace);
    spdlog::trace("t");
    spdlog::debug("d");
    spdlog::critical("c");
    ASSERT_EQ(entries.size(), 3U);
    EXPECT_THAT(entries[0], Contains("PRIORITY=7"));
    EXPECT_THAT(entries[1], Contains("PRIORITY=7"));
    EXPECT_THAT(entries[2], Contains("PRIORITY=2"));
}

TEST_F(JournalSinkTest, LinesBelowTheLevelAreNotSent) {
    log_about(spdlog::level::debug, {"device-1", {"mrp"}}, "quiet {}", 1);
    spdlog::debug("quiet too");
    EXPECT_TRUE(entries.empty());
}

TEST_F(JournalSinkTest, MessageIsSentWhole) {
    log_about(spdlog::level::info, {"device-1", {}}, "first line\nsecond line");
    ASSERT_EQ(entries.size(), 1U);
    EXPECT_THAT(entries[0], Contains("MESSAGE=first line\nsecond line"));
}

TEST(JournalStream, MatchesOnlyTheDeviceAndInodeOfTheDescriptor) {
    std::FILE* file = std::tmpfile();
    ASSERT_NE(file, nullptr);
    const int fd = fileno(file);
    struct stat info {};
    ASSERT_EQ(fstat(fd, &info), 0);
    const std::string same = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    const std::string other = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino + 1);
    EXPECT_TRUE(is_journal_stream(same.c_str(), fd));
    EXPECT_FALSE(is_journal_stream(other.c_str(), fd));
    EXPECT_FALSE(is_journal_stream((same + "x").c_str(), fd));
    EXPECT_FALSE(is_journal_stream("journal", fd));
    EXPECT_FALSE(is_journal_stream("", fd));
    EXPECT_FALSE(is_journal_stream(nullptr, fd));
    std::fclose(file);
}

TEST(LogTarget, Names) {
    EXPECT_EQ(log_target_from_string("auto"), LogTarget::automatic);
    EXPECT_EQ(log_target_from_string("journal"), LogTarget::journal);
    EXPECT_EQ(log_target_from_string("stderr"), LogTarget::standard_error);
    EXPECT_EQ(log_target_from_string("syslog"), std::nullopt);
}

}  // namespace
}  // namespace atvd
