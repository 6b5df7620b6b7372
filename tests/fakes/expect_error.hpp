// What a test asks of a step that must fail with an atv::Error.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "atv/error.hpp"

namespace atv::fakes {

// The atv::Error `body` throws; a test failure when it throws none.
template <typename Body>
Error expect_error(Body body) {
    try {
        body();
    } catch (const Error& error) {
        return error;
    }
    ADD_FAILURE() << "no atv::Error was thrown";
    return Error(ErrorKind::not_found, "");
}

inline bool contains(const Error& error, const std::string& text) {
    return std::string(error.what()).find(text) != std::string::npos;
}

}  // namespace atv::fakes
