// Content codings of HTTP bodies (RFC 9110 §8.4). Apple's Remote app asks DMAP servers for gzip
// and they answer with it, so a reply body is decoded before anything reads it. Decoding is
// bounded: a small body that would inflate past the caller's limit is refused, not held.
#pragma once

#include <cstddef>

#include "http/message.hpp"
#include "support/bytes.hpp"

namespace atv::http {

// What a decoded body may grow to when the caller names no limit: far above any reply atvd reads
// (DMAP artwork is a few hundred kilobytes), far below what would strain the daemon.
inline constexpr std::size_t default_max_decoded_body = 8 * 1024 * 1024;

// A gzip body (RFC 1952, one member or several in a row) decoded with zlib. Throws
// atv::Error(connection_failed) when it is corrupt, truncated, followed by anything but another
// member, or would decode to more than `max_decoded` bytes.
Bytes gzip_decode(ByteView encoded, std::size_t max_decoded = default_max_decoded_body);

// `plain` as one gzip member, as a server that was asked for gzip sends it.
Bytes gzip_encode(ByteView plain);

// Decodes `response`'s body as its Content-Encoding says ("gzip", "x-gzip" or "identity"), then
// drops that header and makes Content-Length, when present, the decoded length. An empty body
// stays empty: replies without content carry none whatever their headers say. Throws as
// gzip_decode, and atv::Error(connection_failed) for any other coding.
void decode_body(Response& response, std::size_t max_decoded = default_max_decoded_body);

}  // namespace atv::http
