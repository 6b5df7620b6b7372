// A verifying accessory fed untrusted controller requests; it must answer without throwing.
#include "fuzz_input.hpp"
#include "hap/pair_verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    static const AccessoryIdentity identity{"C0:FF:EE:00:00:01", Ed25519KeyPair::generate()};
    static const atv::Bytes known_ltpk = Ed25519KeyPair::generate().public_key;
    PairVerifyAccessory accessory(identity, [](std::string_view) { return known_ltpk; });
    for (const auto message : fuzz::split_messages(data, size)) {
        (void)accessory.handle(message);
    }
    return 0;
}
