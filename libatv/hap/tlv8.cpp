#include "hap/tlv8.hpp"

#include <algorithm>
#include <string>

#include "atv/error.hpp"

namespace atv::hap {

namespace {
constexpr std::size_t max_chunk = 255;
}

void Tlv8::add(TlvType type, ByteView value) {
    items_.emplace_back(type, Bytes(value.begin(), value.end()));
}

void Tlv8::add(TlvType type, std::uint8_t value) {
    items_.emplace_back(type, Bytes{value});
}

std::optional<ByteView> Tlv8::get(TlvType type) const {
    const auto found = std::find_if(items_.begin(), items_.end(),
                                    [type](const auto& item) { return item.first == type; });
    if (found == items_.end()) {
        return std::nullopt;
    }
    return ByteView(found->second);
}

std::optional<std::uint8_t> Tlv8::get_byte(TlvType type) const {
    const auto value = get(type);
    if (!value || value->size() != 1) {
        return std::nullopt;
    }
    return (*value)[0];
}

std::optional<std::uint64_t> Tlv8::get_uint(TlvType type) const {
    const auto value = get(type);
    if (!value || value->empty() || value->size() > 8) {
        return std::nullopt;
    }
    std::uint64_t result = 0;
    for (std::size_t i = value->size(); i-- > 0;) {
        result = (result << 8) | (*value)[i];
    }
    return result;
}

Bytes Tlv8::encode() const {
    Bytes out;
    for (const auto& [type, value] : items_) {
        std::size_t offset = 0;
        do {
            const std::size_t chunk = std::min(max_chunk, value.size() - offset);
            out.push_back(static_cast<std::uint8_t>(type));
            out.push_back(static_cast<std::uint8_t>(chunk));
            out.insert(out.end(), value.begin() + static_cast<std::ptrdiff_t>(offset),
                       value.begin() + static_cast<std::ptrdiff_t>(offset + chunk));
            offset += chunk;
        } while (offset < value.size());
    }
    return out;
}

Tlv8 Tlv8::decode(ByteView data) {
    Tlv8 tlv;
    std::size_t offset = 0;
    while (offset < data.size()) {
        if (data.size() - offset < 2) {
            throw Error(ErrorKind::connection_failed,
                        "malformed pairing message: TLV8 item header cut short at byte " +
                            std::to_string(offset));
        }
        const auto type = static_cast<TlvType>(data[offset]);
        const std::size_t length = data[offset + 1];
        offset += 2;
        if (data.size() - offset < length) {
            throw Error(ErrorKind::connection_failed,
                        "malformed pairing message: TLV8 item of type " +
                            std::to_string(static_cast<int>(type)) + " claims " +
                            std::to_string(length) + " bytes but only " +
                            std::to_string(data.size() - offset) + " remain");
        }
        const auto value = data.subspan(offset, length);
        offset += length;
        // Consecutive items of one type are fragments of one value.
        if (!tlv.items_.empty() && tlv.items_.back().first == type) {
            auto& joined = tlv.items_.back().second;
            joined.insert(joined.end(), value.begin(), value.end());
        } else {
            tlv.add(type, value);
        }
    }
    return tlv;
}

}  // namespace atv::hap
