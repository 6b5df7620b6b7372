// An accessory fed untrusted controller requests; it must answer every one without throwing.
#include "fuzz_input.hpp"
#include "hap/pair_setup.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    static const AccessoryIdentity identity{"C0:FF:EE:00:00:01", Ed25519KeyPair::generate()};
    PairSetupAccessory accessory(identity, "1234");
    for (const auto message : fuzz::split_messages(data, size)) {
        (void)accessory.handle(message);
    }
    return 0;
}
