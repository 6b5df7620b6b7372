// A verifying controller fed untrusted device answers as M2 and M4.
#include "atv/error.hpp"
#include "fuzz_input.hpp"
#include "hap/pair_verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    static const HapCredentials credentials = [] {
        HapCredentials made;
        made.ltpk = Ed25519KeyPair::generate().public_key;
        made.ltsk = Ed25519KeyPair::generate().seed;
        made.device_id = atv::to_bytes("C0:FF:EE:00:00:01");
        made.client_id = atv::to_bytes("5a8b3c0e-aaaa-4bbb-8ccc-0123456789ab");
        return made;
    }();
    const auto messages = fuzz::split_messages(data, size);
    PairVerifyController controller(credentials);
    try {
        (void)controller.m1();
        if (messages.size() > 0) {
            (void)controller.m3(messages[0]);
        }
        if (messages.size() > 1) {
            controller.finish(messages[1]);
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
