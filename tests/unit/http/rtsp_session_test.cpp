#include "http/rtsp_session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace atv::http {
namespace {

bool all_of(std::string_view text, int (*is)(int)) {
    return !text.empty() && std::ranges::all_of(text, [is](unsigned char c) { return is(c) != 0; });
}

TEST(RtspSession, EveryRequestCarriesTheSessionAndTheNextSequenceNumber) {
    RtspSession session;
    const Request options = session.request("OPTIONS", "*");
    const Request setup = session.request("POST", "/auth-setup", "HTTP/1.1");
    EXPECT_EQ(options.protocol, "RTSP/1.0");
    EXPECT_EQ(setup.protocol, "HTTP/1.1");
    EXPECT_EQ(options.headers.get("CSeq"), "0");
    EXPECT_EQ(setup.headers.get("CSeq"), "1");
    for (const Request* request : {&options, &setup}) {
        EXPECT_EQ(request->headers.get("DACP-ID"), session.dacp_id());
        EXPECT_EQ(request->headers.get("Client-Instance"), session.dacp_id());
        EXPECT_EQ(request->headers.get("Active-Remote"), session.active_remote());
        EXPECT_EQ(request->headers.get("User-Agent"), "AirPlay/550.10");
    }
}

TEST(RtspSession, TheIdentityIsRandomHexAndDecimal) {
    const RtspSession first;
    const RtspSession second;
    EXPECT_EQ(first.dacp_id().size(), 16U);
    EXPECT_TRUE(all_of(first.dacp_id(), std::isxdigit)) << first.dacp_id();
    EXPECT_FALSE(std::ranges::any_of(first.dacp_id(), [](unsigned char c) {
        return std::islower(c) != 0;
    })) << first.dacp_id();
    EXPECT_TRUE(all_of(first.active_remote(), std::isdigit)) << first.active_remote();
    EXPECT_NE(first.dacp_id(), second.dacp_id());
}

}  // namespace
}  // namespace atv::http
