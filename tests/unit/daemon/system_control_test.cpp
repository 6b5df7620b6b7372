// What Power1, Apps1 and Keyboard1 accept and return (daemon/system_control.hpp), without a
// bus: empty apps and accounts and texts beyond the bound are InvalidArguments naming the
// argument and the bound; lists keep the device's order and reach D-Bus as valid UTF-8.
#include "system_control.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <functional>
#include <string>

namespace {

const std::string invalid = "org.atvd.Error.InvalidArguments: ";

// The error's name and message, or "" when `call` returns.
std::string rejection(const std::function<void()>& call) {
    try {
        call();
    } catch (const sdbus::Error& error) {
        return error.getName() + ": " + error.getMessage();
    }
    return "";
}

TEST(SystemArguments, AnAppIsABundleIdOrAUrl) {
    EXPECT_EQ(atvd::app_argument("com.apple.TVMusic"), "com.apple.TVMusic");
    EXPECT_EQ(atvd::app_argument("https://tv.apple.com/show/1"), "https://tv.apple.com/show/1");
    EXPECT_EQ(atvd::app_argument(std::string(atvd::max_app_bytes, 'a')).size(),
              atvd::max_app_bytes);
}

TEST(SystemArguments, AnEmptyOrHugeAppIsRefused) {
    EXPECT_EQ(rejection([] { atvd::app_argument(""); }), invalid + "the app is empty");
    const std::string error =
        rejection([] { atvd::app_argument(std::string(atvd::max_app_bytes + 1, 'a')); });
    EXPECT_EQ(error, invalid + "the app is longer than 4096 bytes (4097)");
}

TEST(SystemArguments, AnAccountIdentifierIsNeitherEmptyNorHuge) {
    EXPECT_EQ(atvd::account_argument("id2"), "id2");
    EXPECT_EQ(rejection([] { atvd::account_argument(""); }),
              invalid + "the account identifier is empty");
    EXPECT_EQ(rejection([] { atvd::account_argument(std::string(2000, 'x')); }),
              invalid + "the account identifier is longer than 1024 bytes (2000)");
}

TEST(SystemArguments, TextUpTo64KiBIsTaken) {
    EXPECT_EQ(atvd::text_argument(""), "");
    EXPECT_EQ(atvd::text_argument("hello"), "hello");
    EXPECT_EQ(atvd::max_text_bytes, 65536U);
    EXPECT_EQ(atvd::text_argument(std::string(atvd::max_text_bytes, 't')).size(),
              atvd::max_text_bytes);
}

TEST(SystemArguments, TextBeyondTheBoundIsRefusedNamingIt) {
    EXPECT_EQ(rejection([] { atvd::text_argument(std::string(atvd::max_text_bytes + 1, 't')); }),
              invalid + "the text is longer than 65536 bytes (65537)");
    EXPECT_EQ(rejection([] { atvd::text_argument(std::string(4 << 20, 't')); }),
              invalid + "the text is longer than 65536 bytes (4194304)");
}

TEST(NamedItemList, KeepsTheOrderAndBothParts) {
    const atvd::NamedItemList list =
        atvd::named_item_list({{"com.apple.TVMusic", "Music"}, {"com.example", "Example"}});
    ASSERT_EQ(list.size(), 2U);
    EXPECT_EQ(std::get<0>(list[0]), "com.apple.TVMusic");
    EXPECT_EQ(std::get<1>(list[0]), "Music");
    EXPECT_EQ(std::get<0>(list[1]), "com.example");
    EXPECT_EQ(std::get<1>(list[1]), "Example");
    EXPECT_TRUE(atvd::named_item_list({}).empty());
}

TEST(NamedItemList, ReplacesBytesThatAreNotUtf8) {
    const atvd::NamedItemList list = atvd::named_item_list({{"id\xff", "Caf\xc3\xa9 \xc3"}});
    EXPECT_EQ(std::get<0>(list[0]), "id\xEF\xBF\xBD");
    EXPECT_EQ(std::get<1>(list[0]), "Caf\xc3\xa9 \xEF\xBF\xBD");
}

}  // namespace
