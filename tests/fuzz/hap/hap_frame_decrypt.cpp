// Encrypted HAP frames from an untrusted peer, arriving in arbitrary pieces.
#include "atv/error.hpp"
#include "fuzz_input.hpp"
#include "hap/session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    const SessionKeys keys{atv::SecretBytes(atv::Bytes(32, 0x11)),
                           atv::SecretBytes(atv::Bytes(32, 0x22))};
    HapFrameCipher cipher(keys);
    try {
        for (const auto piece : fuzz::split_messages(data, size)) {
            (void)cipher.decrypt(piece);
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
