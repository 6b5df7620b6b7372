// TXT records (RFC 6763 §6) to atv::Properties, with the quirks Apple devices need.
#pragma once

#include <avahi-common/strlst.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "atv/device.hpp"
#include "support/bytes.hpp"

namespace atv::discovery {

// A TXT record larger than this is cut off here; one entry is at most 255 bytes by its
// length byte anyway.
inline constexpr std::size_t max_txt_record_size = 64 * 1024;

// Text of a TXT value: C2 A0 and 00 A0 (non-breaking spaces) become a space, then bytes that
// are not valid UTF-8 become U+FFFD, so the result is always valid UTF-8.
std::string decode_txt_value(ByteView value);

// Adds one "key=value" entry: no '=' means an empty value; empty or non-ASCII keys are
// skipped; a key already present (in any case) keeps its first value. Returns whether it
// was added.
bool add_txt_entry(Properties& properties, ByteView entry);

// Raw TXT rdata: a sequence of length-prefixed strings. A length running past the end ends
// parsing (what was read so far is kept).
Properties parse_txt_rdata(ByteView rdata);

// A TXT record as Avahi hands it over, in list order.
Properties parse_txt_strings(const AvahiStringList* list);

// True when the text is valid UTF-8 (no overlong forms, no surrogates, ≤ U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace atv::discovery

namespace atv::discovery {

// The text with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

}  // namespace atv::discovery
