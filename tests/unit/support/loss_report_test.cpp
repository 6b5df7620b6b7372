// LossReport: a loss is told once, posted, to a handler set before or after it, and never once
// the connection has begun to close.
#include "support/loss_report.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <string>
#include <vector>

namespace {

class LossReportTest : public testing::Test {
  protected:
    // Records every reason the handler is called with.
    atv::LossReport::Handler recorder() {
        return [this](const std::string& reason) { reasons.push_back(reason); };
    }

    asio::io_context io;
    atv::LossReport loss{io.get_executor()};
    std::vector<std::string> reasons;
};

TEST_F(LossReportTest, ReportsALossOncePostedNeverInsideTheCall) {
    loss.on_lost(recorder());
    EXPECT_TRUE(loss.lose("the peer reset the connection"));
    EXPECT_TRUE(reasons.empty());
    EXPECT_FALSE(loss.lose("a second failure"));
    io.run();
    EXPECT_EQ(reasons, std::vector<std::string>{"the peer reset the connection"});
    EXPECT_TRUE(loss.lost());
    EXPECT_TRUE(loss.ended());
    EXPECT_EQ(loss.reason(), "the peer reset the connection");
}

TEST_F(LossReportTest, AHandlerSetAfterTheLossIsStillCalled) {
    EXPECT_TRUE(loss.lose("the device stopped answering"));
    io.run();
    loss.on_lost(recorder());
    io.restart();
    io.run();
    EXPECT_EQ(reasons, std::vector<std::string>{"the device stopped answering"});
}

TEST_F(LossReportTest, NothingIsLostOrReportedOnceClosed) {
    loss.on_lost(recorder());
    loss.close();
    EXPECT_FALSE(loss.lose("the socket was closed"));
    io.run();
    EXPECT_TRUE(reasons.empty());
    EXPECT_FALSE(loss.lost());
    EXPECT_TRUE(loss.closed());
    EXPECT_TRUE(loss.ended());
}

TEST_F(LossReportTest, ClosingDropsAReportAlreadyPosted) {
    loss.on_lost(recorder());
    EXPECT_TRUE(loss.lose("the peer dropped"));
    loss.close();
    io.run();
    EXPECT_TRUE(reasons.empty());
}

TEST_F(LossReportTest, APostedReportOutlivesItsOwner) {
    {
        atv::LossReport owned(io.get_executor());
        owned.on_lost(recorder());
        EXPECT_TRUE(owned.lose("the tunnel went away"));
    }
    io.run();
    EXPECT_EQ(reasons, std::vector<std::string>{"the tunnel went away"});
}

}  // namespace
