// Small helpers shared by the HAP unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::hap::test {

// Hex with optional spaces (as the RFCs print it) to bytes; fails the test on bad input.
inline Bytes hex(std::string_view text) {
    std::string compact;
    for (const char c : text) {
        if (c != ' ' && c != '\n' && c != ':') {
            compact.push_back(c);
        }
    }
    auto bytes = from_hex(compact);
    EXPECT_TRUE(bytes.has_value()) << "bad hex in test data";
    return bytes.value_or(Bytes{});
}

inline Bytes text_bytes(std::string_view text) {
    return to_bytes(text);
}

}  // namespace atv::hap::test
