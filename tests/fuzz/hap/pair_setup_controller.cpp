// A controller fed untrusted device answers as M2, M4 and M6.
#include "atv/error.hpp"
#include "fuzz_input.hpp"
#include "hap/pair_setup.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    static const ClientIdentity identity = ClientIdentity::generate();
    const auto messages = fuzz::split_messages(data, size);
    PairSetupController controller(identity, std::string("fuzz"));
    try {
        (void)controller.m1();
        controller.set_pin("1234");
        if (messages.size() > 0) {
            (void)controller.m3(messages[0]);
        }
        if (messages.size() > 1) {
            (void)controller.m5(messages[1]);
        }
        if (messages.size() > 2) {
            (void)controller.finish(messages[2]);
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
