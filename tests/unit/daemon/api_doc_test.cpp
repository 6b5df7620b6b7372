// The API reference (docs/dbus-api.md), the introspection XML (dbus/*.xml) and libatv's error
// table must name the same things: a doc that promises an error the code never sends, or a
// method the XML lacks, fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "atv/error.hpp"

namespace {

const std::filesystem::path source_root = ATVD_SOURCE_ROOT;

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::set<std::string> matches(const std::string& text, const std::regex& pattern) {
    std::set<std::string> found;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
         it != std::sregex_iterator(); ++it) {
        found.insert((*it)[1].str());
    }
    return found;
}

constexpr atv::ErrorKind all_kinds[] = {
    atv::ErrorKind::no_service,
    atv::ErrorKind::device_id_missing,
    atv::ErrorKind::not_supported,
    atv::ErrorKind::pairing_failed,
    atv::ErrorKind::authentication_failed,
    atv::ErrorKind::connection_failed,
    atv::ErrorKind::connection_lost,
    atv::ErrorKind::timeout,
    atv::ErrorKind::back_off,
    atv::ErrorKind::invalid_state,
    atv::ErrorKind::invalid_arguments,
    atv::ErrorKind::in_progress,
    atv::ErrorKind::not_authorized,
    atv::ErrorKind::not_found,
};

std::string errors_table(const std::string& doc) {
    const auto start = doc.find("\n## Errors");
    const auto end = doc.find("\n## ", start + 1);
    return doc.substr(start, end - start);
}

TEST(ApiDoc, ErrorTableMatchesTheCode) {
    const std::string table = errors_table(read(source_root / "docs/dbus-api.md"));
    const auto documented = matches(table, std::regex(R"(\| `([A-Za-z]+)` \|)"));
    std::set<std::string> in_code;
    for (atv::ErrorKind kind : all_kinds) {
        in_code.insert(std::string(atv::error_name(kind)));
    }
    EXPECT_EQ(documented, in_code);
    EXPECT_EQ(in_code.size(), std::size(all_kinds)) << "two kinds share one D-Bus name";
}

TEST(ApiDoc, EveryErrorNamedInTheDocExists) {
    const std::string doc = read(source_root / "docs/dbus-api.md");
    std::set<std::string> in_code;
    for (atv::ErrorKind kind : all_kinds) {
        in_code.insert(std::string(atv::error_name(kind)));
    }
    for (const std::string& error_line :
         matches(doc, std::regex(R"(Errors: ([^\n]+(\n[^\n#]+)*))"))) {
        for (const std::string& name : matches(error_line, std::regex(R"(`([A-Za-z]+)`)"))) {
            EXPECT_TRUE(in_code.contains(name)) << name << " is documented but never sent";
        }
    }
    EXPECT_NE(doc.find("Errors: `NoService`"), std::string::npos) << "error lists not found";
}

class InterfaceDoc : public testing::TestWithParam<const char*> {};

TEST_P(InterfaceDoc, EveryMemberIsDocumented) {
    const std::string interface = GetParam();
    const std::string xml = read(source_root / "dbus" / (interface + ".xml"));
    const std::string doc = read(source_root / "docs/dbus-api.md");
    ASSERT_NE(doc.find("## " + interface), std::string::npos) << interface << " has no section";
    const auto methods = matches(xml, std::regex(R"re(<method name="([A-Za-z]+)")re"));
    const auto properties = matches(xml, std::regex(R"re(<property name="([A-Za-z]+)")re"));
    const auto signals = matches(xml, std::regex(R"re(<signal name="([A-Za-z]+)")re"));
    for (const std::string& method : methods) {
        EXPECT_TRUE(std::regex_search(doc, std::regex("`(\\S+ |)" + method + "\\(")))
            << interface << "." << method << " is not documented";
    }
    for (const std::string& property : properties) {
        EXPECT_TRUE(
            std::regex_search(doc, std::regex("`[^`]* " + property + "`|`" + property + "`")))
            << interface << "." << property << " is not documented";
    }
    for (const std::string& signal : signals) {
        EXPECT_NE(doc.find("`" + signal + "("), std::string::npos) << signal;
    }
}

INSTANTIATE_TEST_SUITE_P(Interfaces, InterfaceDoc,
                         testing::Values("org.atvd.Manager1", "org.atvd.Device1",
                                         "org.atvd.Service1", "org.atvd.PairingHandler1",
                                         "org.atvd.RemoteControl1", "org.atvd.Player1",
                                         "org.atvd.Audio1", "org.atvd.Power1", "org.atvd.Apps1",
                                         "org.atvd.Keyboard1"));

}  // namespace
