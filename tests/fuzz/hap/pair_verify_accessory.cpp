// A verifying accessory fed untrusted controller requests; it must answer every one without
// throwing.
//
// One input is one conversation: M1 and M3 and one request after them, which meets the accessory
// verified or back at its start. Each M1 costs an X25519 exchange and an Ed25519 signature, so
// longer inputs (hundreds of small M1s) would only repeat that work and slow the fuzzer without
// reaching any new state.
#include <algorithm>

#include "fuzz_input.hpp"
#include "hap/pair_verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    constexpr std::size_t max_requests = 3;
    static const AccessoryIdentity identity{"C0:FF:EE:00:00:01", Ed25519KeyPair::generate()};
    static const atv::Bytes known_ltpk = Ed25519KeyPair::generate().public_key;
    PairVerifyAccessory accessory(identity, [](std::string_view) { return known_ltpk; });
    const auto messages = fuzz::split_messages(data, size);
    const auto count = std::min(messages.size(), max_requests);
    for (std::size_t i = 0; i < count; ++i) {
        (void)accessory.handle(messages[i]);
    }
    return 0;
}
