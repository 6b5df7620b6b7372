#include "discovery/txt.hpp"

#include <gtest/gtest.h>

#include <string>

#include "atv/discovery.hpp"

namespace atv::discovery {
namespace {

Bytes rdata(std::initializer_list<std::string> entries) {
    Bytes out;
    for (const std::string& entry : entries) {
        out.push_back(static_cast<std::uint8_t>(entry.size()));
        out.insert(out.end(), entry.begin(), entry.end());
    }
    return out;
}

TEST(TxtRecord, KeyValuePairsKeepTheirCase) {
    const Properties properties = parse_txt_rdata(rdata({"deviceid=AA:BB", "Model=AppleTV6,2"}));
    ASSERT_EQ(properties.size(), 2U);
    EXPECT_EQ(properties.at("deviceid"), "AA:BB");
    EXPECT_EQ(properties.at("Model"), "AppleTV6,2");
}

TEST(TxtRecord, LookupIgnoresKeyCase) {
    const Properties properties = parse_txt_rdata(rdata({"AllowPairing=YES"}));
    EXPECT_EQ(get_property(properties, "allowpairing"), "YES");
    EXPECT_EQ(get_property(properties, "ALLOWPAIRING"), "YES");
    EXPECT_FALSE(get_property(properties, "allowpairin").has_value());
}

TEST(TxtRecord, EntryWithoutEqualsHasEmptyValue) {
    const Properties properties = parse_txt_rdata(rdata({"flag"}));
    ASSERT_EQ(properties.count("flag"), 1U);
    EXPECT_EQ(properties.at("flag"), "");
}

TEST(TxtRecord, ValueKeepsLaterEqualsSigns) {
    const Properties properties = parse_txt_rdata(rdata({"wama=a=b,c=d"}));
    EXPECT_EQ(properties.at("wama"), "a=b,c=d");
}

TEST(TxtRecord, EmptyKeyIsSkipped) {
    const Properties properties = parse_txt_rdata(rdata({"=value", "a=1"}));
    ASSERT_EQ(properties.size(), 1U);
    EXPECT_EQ(properties.at("a"), "1");
}

TEST(TxtRecord, NonAsciiKeyIsSkipped) {
    const Properties properties = parse_txt_rdata(rdata({"k\xC3\xA9y=1", "ok=2"}));
    ASSERT_EQ(properties.size(), 1U);
    EXPECT_EQ(properties.at("ok"), "2");
}

TEST(TxtRecord, DuplicateKeysFirstWinsIgnoringCase) {
    const Properties properties =
        parse_txt_rdata(rdata({"Name=first", "name=second", "Name=third"}));
    ASSERT_EQ(properties.size(), 1U);
    EXPECT_EQ(properties.at("Name"), "first");
}

TEST(TxtRecord, NonBreakingSpacesBecomeSpaces) {
    const Properties properties =
        parse_txt_rdata(rdata({std::string("a=Living\xC2\xA0Room"), std::string("b=x\0\xA0y", 6)}));
    EXPECT_EQ(properties.at("a"), "Living Room");
    EXPECT_EQ(properties.at("b"), "x y");
}

TEST(TxtRecord, ValidUtf8IsKept) {
    const Properties properties =
        parse_txt_rdata(rdata({"n=K\xC3\xBC"
                               "che \xF0\x9F\x93\xBA"}));
    EXPECT_EQ(properties.at("n"),
              "K\xC3\xBC"
              "che \xF0\x9F\x93\xBA");
}

TEST(TxtRecord, InvalidUtf8BecomesReplacementCharacters) {
    const Properties properties =
        parse_txt_rdata(rdata({"a=x\xFFy", "b=\xC3", "c=\xED\xA0\x80", "d=\xC0\xAF"}));
    EXPECT_EQ(properties.at("a"), "x\xEF\xBF\xBDy");
    EXPECT_EQ(properties.at("b"), "\xEF\xBF\xBD");
    EXPECT_EQ(properties.at("c"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_EQ(properties.at("d"), "\xEF\xBF\xBD\xEF\xBF\xBD");              // overlong
    for (const auto& [key, value] : properties) {
        EXPECT_TRUE(is_valid_utf8(value)) << key;
    }
}

TEST(TxtRecord, NulInsideValueIsKept) {
    const Properties properties = parse_txt_rdata(rdata({std::string("a=1\0002", 5)}));
    EXPECT_EQ(properties.at("a"), std::string("1\0002", 3));
}

TEST(TxtRecord, LengthPastTheEndStopsParsing) {
    Bytes data = rdata({"a=1"});
    data.push_back(40);  // claims 40 bytes, has 3
    data.insert(data.end(), {'b', '=', '2'});
    const Properties properties = parse_txt_rdata(data);
    ASSERT_EQ(properties.size(), 1U);
    EXPECT_EQ(properties.at("a"), "1");
}

TEST(TxtRecord, EmptyStringsAreIgnored) {
    Bytes data{0, 0};
    const Bytes rest = rdata({"a=1"});
    data.insert(data.end(), rest.begin(), rest.end());
    EXPECT_EQ(parse_txt_rdata(data).size(), 1U);
    EXPECT_TRUE(parse_txt_rdata(Bytes{}).empty());
}

TEST(TxtRecord, HugeRecordIsBoundedAt64KiB) {
    Bytes data;
    for (int i = 0; i < 2000; ++i) {
        std::string entry = "k" + std::to_string(i) + "=";
        entry.resize(200, 'v');
        data.push_back(static_cast<std::uint8_t>(entry.size()));
        data.insert(data.end(), entry.begin(), entry.end());
    }
    ASSERT_GT(data.size(), 2 * max_txt_record_size);
    const Properties properties = parse_txt_rdata(data);
    std::size_t total = 0;
    for (const auto& [key, value] : properties) {
        total += key.size() + 1 + value.size();
    }
    EXPECT_LE(total, max_txt_record_size);
    EXPECT_GT(properties.size(), 300U);
    EXPECT_LT(properties.size(), 2000U);
}

TEST(TxtRecord, AvahiStringListInListOrder) {
    AvahiStringList* list = avahi_string_list_add(nullptr, "K=2");
    list = avahi_string_list_add(list, "empty");
    list = avahi_string_list_add(list, "k=1");  // prepended: first in the list
    const Properties properties = parse_txt_strings(list);
    avahi_string_list_free(list);
    ASSERT_EQ(properties.size(), 2U);
    EXPECT_EQ(properties.at("k"), "1");
    EXPECT_EQ(properties.at("empty"), "");
}

TEST(TxtRecord, AvahiStringListDecodesValues) {
    const std::uint8_t raw[] = {'n', '=', 'a', 0xC2, 0xA0, 'b', 0xFE};
    AvahiStringList* list = avahi_string_list_add_arbitrary(nullptr, raw, sizeof raw);
    const Properties properties = parse_txt_strings(list);
    avahi_string_list_free(list);
    EXPECT_EQ(properties.at("n"), "a b\xEF\xBF\xBD");
}

TEST(TxtRecord, AddEntryReportsSkips) {
    Properties properties;
    const std::string first = "a=1";
    const std::string again = "A=2";
    const std::string empty = "=x";
    EXPECT_TRUE(add_txt_entry(properties, to_bytes(first)));
    EXPECT_FALSE(add_txt_entry(properties, to_bytes(again)));
    EXPECT_FALSE(add_txt_entry(properties, to_bytes(empty)));
    EXPECT_EQ(properties.at("a"), "1");
}

}  // namespace
}  // namespace atv::discovery
