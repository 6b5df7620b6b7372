// What a D-Bus caller may send to the daemon's argument checks: Manager1.Scan's filter,
// Device1.Pair's options and protocol name, Pairing1.Pin's PIN, Device1.SetCredentials'
// credentials and Manager1.AddDevice's address. Each either accepts or answers
// org.atvd.Error.InvalidArguments; nothing else may escape, and credentials never appear in
// an error message.
//
// Input: the first byte picks the check, the rest is read by Reader below. A dictionary
// (a{sv}) is a sequence of entries: a key byte (a known key, or else a string follows), a type
// byte (s, u, as, b, i, t, d) and the value. Strings are a length byte and that many bytes.
#include <sdbus-c++/Error.h>
#include <sdbus-c++/Types.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "arguments.hpp"
#include "atv/atv.hpp"
#include "atv/error.hpp"

namespace {

constexpr std::string_view invalid_arguments = "org.atvd.Error.InvalidArguments";

class Reader {
  public:
    Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    [[nodiscard]] bool done() const { return at_ == size_; }

    std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }

    std::uint64_t number(std::size_t width) {
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < width; ++i) {
            value = value << 8 | byte();
        }
        return value;
    }

    std::string string() {
        const std::size_t wanted = byte();
        const std::size_t length = std::min(wanted, size_ - at_);
        std::string text(reinterpret_cast<const char*>(data_ + at_), length);
        at_ += length;
        return text;
    }

    std::string rest() {
        std::string text(reinterpret_cast<const char*>(data_ + at_), size_ - at_);
        at_ = size_;
        return text;
    }

    std::string key(const std::vector<std::string>& known) {
        const std::uint8_t choice = byte();
        return choice < known.size() ? known[choice] : string();
    }

    sdbus::Variant value() {
        switch (byte() % 7) {
            case 0:
                return sdbus::Variant(string());
            case 1:
                return sdbus::Variant(static_cast<std::uint32_t>(number(4)));
            case 2: {
                std::vector<std::string> list(byte() % 8);
                for (std::string& item : list) {
                    item = string();
                }
                return sdbus::Variant(list);
            }
            case 3:
                return sdbus::Variant(byte() % 2 == 1);
            case 4:
                return sdbus::Variant(static_cast<std::int32_t>(number(4)));
            case 5:
                return sdbus::Variant(number(8));
            default:
                return sdbus::Variant(static_cast<double>(number(8)));
        }
    }

    std::map<std::string, sdbus::Variant> dictionary(const std::vector<std::string>& known) {
        std::map<std::string, sdbus::Variant> entries;
        while (!done()) {
            std::string name = key(known);
            try {
                entries.insert_or_assign(std::move(name), value());
            } catch (const sdbus::Error&) {
                // sdbus-c++ refuses a string that is not UTF-8, as a bus refuses to deliver
                // one: such an entry never reaches the daemon.
            }
        }
        return entries;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

bool all_digits(const std::string& text) {
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

bool printable(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

void scan_filter(Reader& in) {
    auto filter = in.dictionary({"Identifiers", "Hosts", "Protocols", "Timeout"});
    const atvd::ScanFilter parsed = atvd::parse_scan_filter(filter, std::chrono::milliseconds(7));
    if (!filter.contains("Timeout") && parsed.timeout != std::chrono::milliseconds(7)) {
        __builtin_trap();
    }
    if (filter.contains("Hosts") &&
        parsed.hosts != filter.at("Hosts").get<std::vector<std::string>>()) {
        __builtin_trap();
    }
}

void pair_options(Reader& in) {
    auto options = in.dictionary({"Name", "PairingGuid", "Timeout"});
    const atvd::PairOptions parsed = atvd::parse_pair_options(options);
    if (parsed.timeout && parsed.timeout->count() == 0) {
        __builtin_trap();
    }
    if (!options.contains("Name") && parsed.pairing.name != atv::PairingOptions{}.name) {
        __builtin_trap();
    }
}

void pin(Reader& in) {
    const std::string pin = in.rest();
    atvd::check_pin(pin);
    if (pin.empty() || pin.size() > 16 || !all_digits(pin)) {
        __builtin_trap();  // accepted what the API calls invalid
    }
}

void credentials(Reader& in) {
    static const std::vector<std::string> names{"mrp", "airplay", "companion", "dmap", "raop"};
    const atv::Protocol protocol = atvd::protocol_argument(in.key(names));
    const std::string credentials = in.rest();
    try {
        atv::validate_credentials(protocol, credentials);
    } catch (const atv::Error& error) {
        if (error.kind() != atv::ErrorKind::invalid_arguments) {
            __builtin_trap();
        }
        // A secret must never reach a log or a caller. Credentials that are a piece of the
        // message's own text prove nothing; with a byte no message is written with, they do.
        if (credentials.size() >= 8 && !printable(credentials) &&
            std::string_view(error.what()).find(credentials) != std::string_view::npos) {
            __builtin_trap();
        }
        throw;
    }
}

void address(Reader& in) {
    const std::string text = in.rest();
    if (atvd::is_ip_address(text) &&
        text.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
        __builtin_trap();  // only digits, dots and colons make an address
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    using Check = void (*)(Reader&);
    static constexpr std::array<Check, 5> checks{scan_filter, pair_options, pin, credentials,
                                                 address};
    const Check check = checks[in.byte() % checks.size()];
    try {
        check(in);
    } catch (const sdbus::Error& error) {
        if (error.getName() != invalid_arguments) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
        // validate_credentials' own errors, checked in credentials() above.
    }
    return 0;
}
