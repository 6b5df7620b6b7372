// Splits one fuzz input into several messages: each is a 2-byte little-endian length followed by
// that many bytes (the last one takes whatever remains).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "support/bytes.hpp"

namespace atv::hap::fuzz {

inline std::vector<ByteView> split_messages(const std::uint8_t* data, std::size_t size) {
    std::vector<ByteView> messages;
    ByteView rest(data, size);
    while (rest.size() >= 2) {
        const std::size_t length = rest[0] | (rest[1] << 8);
        rest = rest.subspan(2);
        const std::size_t take = length < rest.size() ? length : rest.size();
        messages.push_back(rest.first(take));
        rest = rest.subspan(take);
    }
    return messages;
}

}  // namespace atv::hap::fuzz
