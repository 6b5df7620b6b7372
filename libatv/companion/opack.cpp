#include "companion/opack.hpp"

#include <bit>
#include <cstring>
#include <limits>

#include "atv/error.hpp"

namespace atv::companion {

namespace {

[[noreturn]] void malformed(const std::string& what) {
    throw Error(ErrorKind::connection_failed, "malformed OPACK data: " + what);
}

void put_le(Bytes& out, std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
}

// The width of the smallest of the 1/2/4/8-byte forms that holds `value`.
std::size_t sized_width(std::uint64_t value) {
    if (value <= 0xFF)
        return 1;
    if (value <= 0xFFFF)
        return 2;
    if (value <= 0xFFFFFFFF)
        return 4;
    return 8;
}

void encode_integer(Bytes& out, std::int64_t number) {
    if (number >= 0 && number <= 39) {
        out.push_back(static_cast<std::uint8_t>(0x08 + number));
    } else if (number == -1) {
        out.push_back(0x07);
    } else if (number < 0) {
        out.push_back(0x33);
        put_le(out, static_cast<std::uint64_t>(number), 8);
    } else {
        const auto value = static_cast<std::uint64_t>(number);
        const std::size_t width = sized_width(value);
        const std::uint8_t lead = width == 1 ? 0x30 : width == 2 ? 0x31 : width == 4 ? 0x32 : 0x33;
        out.push_back(lead);
        put_le(out, value, width);
    }
}

void encode_string(Bytes& out, const std::string& text) {
    const std::size_t size = text.size();
    if (size <= 32) {
        out.push_back(static_cast<std::uint8_t>(0x40 + size));
    } else if (size <= 0xFF) {
        out.push_back(0x61);
        put_le(out, size, 1);
    } else if (size <= 0xFFFF) {
        out.push_back(0x62);
        put_le(out, size, 2);
    } else if (size <= 0xFFFFFF) {
        out.push_back(0x63);
        put_le(out, size, 3);
    } else if (size <= 0xFFFFFFFF) {
        out.push_back(0x64);
        put_le(out, size, 4);
    } else {
        throw Error(ErrorKind::invalid_arguments, "a string is too long for OPACK");
    }
    out.insert(out.end(), text.begin(), text.end());
}

void encode_bytes(Bytes& out, const Bytes& data) {
    const std::size_t size = data.size();
    if (size <= 32) {
        out.push_back(static_cast<std::uint8_t>(0x70 + size));
    } else {
        const std::size_t width = sized_width(size);
        const std::uint8_t lead = width == 1 ? 0x91 : width == 2 ? 0x92 : width == 4 ? 0x93 : 0x94;
        out.push_back(lead);
        put_le(out, size, width);
    }
    out.insert(out.end(), data.begin(), data.end());
}

void encode_into(Bytes& out, const OpackValue& value);

void encode_array(Bytes& out, const OpackArray& items) {
    const bool endless = items.size() >= 15;
    out.push_back(endless ? 0xDF : static_cast<std::uint8_t>(0xD0 + items.size()));
    for (const auto& item : items)
        encode_into(out, item);
    if (endless)
        out.push_back(0x03);
}

void encode_dict(Bytes& out, const OpackDict& entries) {
    const bool endless = entries.size() >= 15;
    out.push_back(endless ? 0xEF : static_cast<std::uint8_t>(0xE0 + entries.size()));
    for (const auto& [key, item] : entries) {
        encode_into(out, key);
        encode_into(out, item);
    }
    if (endless)
        out.push_back(0x03);
}

void encode_into(Bytes& out, const OpackValue& value) {
    struct Visitor {
        Bytes& out;
        void operator()(std::nullptr_t) const { out.push_back(0x04); }
        void operator()(bool flag) const { out.push_back(flag ? 0x01 : 0x02); }
        void operator()(std::int64_t number) const { encode_integer(out, number); }
        void operator()(double number) const {
            out.push_back(0x36);
            put_le(out, std::bit_cast<std::uint64_t>(number), 8);
        }
        void operator()(const std::string& text) const { encode_string(out, text); }
        void operator()(const Bytes& data) const { encode_bytes(out, data); }
        void operator()(const OpackArray& items) const { encode_array(out, items); }
        void operator()(const OpackDict& entries) const { encode_dict(out, entries); }
        void operator()(const OpackUuid& uuid) const {
            out.push_back(0x05);
            out.insert(out.end(), uuid.bytes.begin(), uuid.bytes.end());
        }
        void operator()(const OpackDate& date) const {
            out.push_back(0x06);
            put_le(out, date.ticks, 8);
        }
    };
    std::visit(Visitor{out}, value.value);
}

class Decoder {
  public:
    Decoder(ByteView data, const OpackLimits& limits) : data_(data), limits_(limits) {}

    OpackValue decode_all() {
        if (data_.size() > limits_.max_input)
            malformed("the input is larger than allowed");
        OpackValue value = decode(0);
        if (position_ != data_.size())
            malformed("trailing bytes after the value");
        return value;
    }

  private:
    // Distinguishes the end marker of an endless collection from a value.
    struct Item {
        bool terminator = false;
        OpackValue value;
    };

    std::uint8_t take_byte() {
        if (position_ >= data_.size())
            malformed("the data ends in the middle of a value");
        return data_[position_++];
    }

    ByteView take(std::uint64_t count) {
        if (count > data_.size() - position_)
            malformed("a length runs past the end of the data");
        const auto view = data_.subspan(position_, static_cast<std::size_t>(count));
        position_ += static_cast<std::size_t>(count);
        return view;
    }

    std::uint64_t take_le(std::size_t width) {
        const ByteView bytes = take(width);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < width; ++i)
            value |= std::uint64_t{bytes[i]} << (8 * i);
        return value;
    }

    // Every value a reference copies counts again, so references cannot multiply memory.
    void account(std::size_t size) {
        produced_ += size;
        if (produced_ > limits_.max_input)
            malformed("the decoded data is larger than allowed");
    }

    void count_item() {
        if (++items_ > limits_.max_items)
            malformed("too many items");
    }

    OpackValue decode(std::size_t depth) {
        Item item = decode_item(depth, false);
        return std::move(item.value);
    }

    Item decode_item(std::size_t depth, bool terminator_allowed) {
        if (depth > limits_.max_depth)
            malformed("nesting is too deep");
        const std::size_t start = position_;
        const std::uint8_t lead = take_byte();
        if (lead == 0x03) {
            if (!terminator_allowed)
                malformed("an end marker outside a collection");
            return {true, {}};
        }
        if (lead >= 0xA0 && lead <= 0xC4)
            return {false, resolve_reference(lead)};
        bool referable = true;
        OpackValue value = decode_lead(lead, depth, referable);
        if (referable && position_ - start > 1)
            references_.push_back(value);
        return {false, std::move(value)};
    }

    OpackValue resolve_reference(std::uint8_t lead) {
        std::uint64_t index = 0;
        if (lead <= 0xC0) {
            index = lead - 0xA0u;
        } else {
            index = take_le(lead - 0xC0u);
        }
        if (index >= references_.size())
            malformed("a reference to an unknown object");
        const OpackValue& target = references_[static_cast<std::size_t>(index)];
        if (const auto* text = target.get_if<std::string>())
            account(text->size());
        if (const auto* data = target.get_if<Bytes>())
            account(data->size());
        return target;
    }

    OpackValue decode_lead(std::uint8_t lead, std::size_t depth, bool& referable) {
        switch (lead) {
            case 0x01:
                return true;
            case 0x02:
                return false;
            case 0x04:
                return nullptr;
            case 0x05: {
                OpackUuid uuid;
                const ByteView raw = take(16);
                std::memcpy(uuid.bytes.data(), raw.data(), 16);
                return uuid;
            }
            case 0x06:
                return OpackDate{take_le(8)};
            case 0x07:
                return std::int64_t{-1};
            case 0x30:
                return static_cast<std::int64_t>(take_le(1));
            case 0x31:
                return static_cast<std::int64_t>(take_le(2));
            case 0x32:
                return static_cast<std::int64_t>(take_le(4));
            case 0x33:
                return static_cast<std::int64_t>(take_le(8));
            case 0x35:
                return static_cast<double>(
                    std::bit_cast<float>(static_cast<std::uint32_t>(take_le(4))));
            case 0x36:
                return std::bit_cast<double>(take_le(8));
            case 0x61:
                return decode_string(take_le(1));
            case 0x62:
                return decode_string(take_le(2));
            case 0x63:
                return decode_string(take_le(3));
            case 0x64:
                return decode_string(take_le(4));
            case 0x91:
                return decode_bytes(take_le(1));
            case 0x92:
                return decode_bytes(take_le(2));
            case 0x93:
                return decode_bytes(take_le(4));
            case 0x94:
                return decode_bytes(take_le(8));
            default:
                break;
        }
        if (lead >= 0x08 && lead <= 0x2F)
            return std::int64_t{lead - 0x08};
        if (lead >= 0x40 && lead <= 0x60)
            return decode_string(lead - 0x40u);
        if (lead >= 0x70 && lead <= 0x90)
            return decode_bytes(lead - 0x70u);
        referable = false;
        if (lead >= 0xD0 && lead <= 0xDF)
            return decode_array(lead & 0x0F, depth);
        if (lead >= 0xE0 && lead <= 0xEF)
            return decode_dict(lead & 0x0F, depth);
        malformed("unknown type byte 0x" + to_hex(ByteView(&lead, 1)));
    }

    OpackValue decode_string(std::uint64_t size) {
        const ByteView raw = take(size);
        account(raw.size());
        return std::string(raw.begin(), raw.end());
    }

    OpackValue decode_bytes(std::uint64_t size) {
        const ByteView raw = take(size);
        account(raw.size());
        return Bytes(raw.begin(), raw.end());
    }

    // A count of 15 means "until the end marker".
    OpackValue decode_array(std::size_t count, std::size_t depth) {
        const bool endless = count == 15;
        OpackArray items;
        for (std::size_t i = 0; endless || i < count; ++i) {
            Item item = decode_item(depth + 1, endless);
            if (item.terminator)
                break;
            count_item();
            items.push_back(std::move(item.value));
        }
        return items;
    }

    OpackValue decode_dict(std::size_t count, std::size_t depth) {
        const bool endless = count == 15;
        OpackDict entries;
        for (std::size_t i = 0; endless || i < count; ++i) {
            Item key = decode_item(depth + 1, endless);
            if (key.terminator)
                break;
            OpackValue value = decode(depth + 1);
            count_item();
            entries.emplace_back(std::move(key.value), std::move(value));
        }
        return entries;
    }

    ByteView data_;
    const OpackLimits& limits_;
    std::size_t position_ = 0;
    std::size_t produced_ = 0;
    std::size_t items_ = 0;
    std::vector<OpackValue> references_;
};

}  // namespace

const OpackValue* OpackValue::find(std::string_view key) const {
    const auto* entries = get_if<OpackDict>();
    if (entries == nullptr)
        return nullptr;
    for (const auto& [entry_key, entry_value] : *entries) {
        const auto* text = entry_key.get_if<std::string>();
        if (text != nullptr && *text == key)
            return &entry_value;
    }
    return nullptr;
}

std::optional<std::int64_t> OpackValue::int_at(std::string_view key) const {
    const OpackValue* found = find(key);
    if (found == nullptr || !found->is<std::int64_t>())
        return std::nullopt;
    return std::get<std::int64_t>(found->value);
}

std::optional<std::string> OpackValue::string_at(std::string_view key) const {
    const OpackValue* found = find(key);
    if (found == nullptr || !found->is<std::string>())
        return std::nullopt;
    return std::get<std::string>(found->value);
}

std::optional<Bytes> OpackValue::bytes_at(std::string_view key) const {
    const OpackValue* found = find(key);
    if (found == nullptr || !found->is<Bytes>())
        return std::nullopt;
    return std::get<Bytes>(found->value);
}

bool OpackValue::operator==(const OpackValue& other) const {
    return value == other.value;
}

Bytes opack_encode(const OpackValue& value) {
    Bytes out;
    encode_into(out, value);
    return out;
}

OpackValue opack_decode(ByteView data, const OpackLimits& limits) {
    return Decoder(data, limits).decode_all();
}

}  // namespace atv::companion
