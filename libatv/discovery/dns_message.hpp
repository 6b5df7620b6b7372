// DNS messages (RFC 1035, RFC 6762) as used by unicast DNS-SD scanning: an encoder for
// queries and a strict decoder that never reads out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "atv/device.hpp"
#include "discovery/device_rules.hpp"
#include "support/bytes.hpp"

namespace atv::discovery::dns {

inline constexpr std::uint16_t type_a = 1;
inline constexpr std::uint16_t type_ptr = 12;
inline constexpr std::uint16_t type_txt = 16;
inline constexpr std::uint16_t type_aaaa = 28;
inline constexpr std::uint16_t type_srv = 33;
inline constexpr std::uint16_t type_any = 255;

inline constexpr std::uint16_t query_id = 0x35FF;
inline constexpr std::uint16_t query_flags = 0x0120;
// Class IN with the "unicast response" bit (RFC 6762 §5.4).
inline constexpr std::uint16_t class_in_unicast = 0x8001;
inline constexpr std::uint16_t flag_response = 0x8000;

// A name as its labels; labels may contain dots (instance names do).
using Name = std::vector<std::string>;

// "_airplay._tcp.local" → {"_airplay", "_tcp", "local"} (no escaping: for type names).
Name name_from_text(std::string_view text);
std::string name_to_text(const Name& name);
// Case-insensitive equality (ASCII), as DNS compares names.
bool same_name(const Name& a, const Name& b);

struct Question {
    Name name;
    std::uint16_t type = type_ptr;
    std::uint16_t qclass = class_in_unicast;
};

struct Srv {
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    std::uint16_t port = 0;
    Name target;
};

struct Record {
    Name name;
    std::uint16_t type = 0;
    std::uint16_t rclass = 0;
    std::uint32_t ttl = 0;
    Bytes rdata;  // as received (compressed names inside are not expanded)
    // Decoded forms for the types scanning needs.
    Name ptr;                // PTR
    std::optional<Srv> srv;  // SRV
    std::string address;     // A (dotted quad)
};

struct Message {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::vector<Question> questions;
    std::vector<Record> answers;
    std::vector<Record> authorities;
    std::vector<Record> additionals;
};

// Limits that keep hostile input cheap.
inline constexpr std::size_t max_name_length = 255;  // wire bytes, RFC 1035 §2.3.4
inline constexpr std::size_t max_label_length = 63;
inline constexpr std::size_t max_pointer_hops = 64;

// Names are written uncompressed. Throws atv::Error(invalid_arguments) for a label over 63
// bytes or a name over 255.
Bytes encode(const Message& message);

// Strict: truncated data, impossible counts, bad labels, pointer loops or forward pointers,
// over-long names and trailing garbage give nullopt (with the reason in `error`).
std::optional<Message> decode(ByteView data, std::string* error = nullptr);

// PTR (or ANY) questions for the service types, grouped as pyatv does: ceil(n/3) messages,
// each with up to four types (windows advance by three, so neighbours overlap by one) plus
// "_sleep-proxy._udp.local".
std::vector<Bytes> service_queries(std::span<const Name> names, std::uint16_t qtype);
std::vector<Bytes> service_queries(std::span<const std::string> names, std::uint16_t qtype);

// A service found in a reply.
struct FoundService {
    ServiceKind kind = ServiceKind::mrp;
    Name full_name;  // instance + type + domain
    std::string instance_name;
    std::string address;     // first usable IPv4 of the SRV target; empty when none
    std::uint16_t port = 0;  // 0 when no SRV came with it
    Properties properties;
};

// The services of known types in a reply: from PTR targets and from SRV/TXT owners.
std::vector<FoundService> parse_services(const Message& message);

}  // namespace atv::discovery::dns

namespace atv::discovery::dns {

// Records for answers (used by tests and tools that play a responder).
Record make_ptr(const Name& owner, const Name& target);
Record make_srv(const Name& owner, std::uint16_t port, const Name& target);
Record make_txt(const Name& owner, const std::vector<std::string>& entries);
Record make_a(const Name& owner, std::string_view dotted_quad);

}  // namespace atv::discovery::dns
