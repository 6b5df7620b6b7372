// TLV8 decoding of untrusted bytes: either a clean error or a value that survives a round trip.
#include <cstdlib>

#include "atv/error.hpp"
#include "hap/tlv8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace atv::hap;
    try {
        const Tlv8 decoded = Tlv8::decode(atv::ByteView(data, size));
        const Tlv8 again = Tlv8::decode(decoded.encode());
        for (int type = 0; type < 256; ++type) {
            const auto first = decoded.get(static_cast<TlvType>(type));
            const auto second = again.get(static_cast<TlvType>(type));
            if (first.has_value() != second.has_value() ||
                (first &&
                 !std::equal(first->begin(), first->end(), second->begin(), second->end()))) {
                std::abort();
            }
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
