// gzip bodies decoded with zlib: what zlib and gzip(1) make comes back unchanged; corrupt,
// truncated and oversized bodies are refused with a clear error.
#include "http/content_encoding.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "atv/error.hpp"
#include "expect_error.hpp"

namespace atv::http {
namespace {

using fakes::contains;
using fakes::expect_error;

// `printf 'Remote/1021 asks for gzip' | gzip -n -9`: made by another encoder than ours.
const Bytes from_gzip_tool = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x0b, 0x4a, 0xcd, 0xcd, 0x2f,
    0x49, 0xd5, 0x37, 0x34, 0x30, 0x32, 0x54, 0x48, 0x2c, 0xce, 0x2e, 0x56, 0x48, 0xcb, 0x2f,
    0x52, 0x48, 0xaf, 0xca, 0x2c, 0x00, 0x00, 0x7d, 0x92, 0x1b, 0x03, 0x19, 0x00, 0x00, 0x00};

// Bytes that compress somewhat but not to nothing.
Bytes sample(std::size_t size) {
    Bytes bytes(size);
    std::uint32_t state = 12345;
    for (auto& byte : bytes) {
        state = state * 1103515245 + 12345;
        byte = static_cast<std::uint8_t>('a' + (state >> 16) % 8);
    }
    return bytes;
}

Response gzipped_reply(std::string_view coding, ByteView plain) {
    Response reply;
    reply.headers = {{"Content-Type", "application/x-dmap-tagged"},
                     {"Content-Encoding", std::string(coding)},
                     {"Content-Length", "0"}};
    reply.body = gzip_encode(plain);
    reply.headers.set("Content-Length", std::to_string(reply.body.size()));
    return reply;
}

TEST(Gzip, DecodesWhatTheGzipToolMakes) {
    EXPECT_EQ(to_string(gzip_decode(from_gzip_tool)), "Remote/1021 asks for gzip");
}

TEST(Gzip, RoundTripsThroughZlib) {
    for (const std::size_t size : {0UL, 1UL, 1000UL, 100'000UL, 1'000'000UL}) {
        const Bytes plain = sample(size);
        const Bytes encoded = gzip_encode(plain);
        ASSERT_GE(encoded.size(), 18u) << "a gzip member has a header and a trailer";
        EXPECT_EQ(encoded[0], 0x1f);
        EXPECT_EQ(encoded[1], 0x8b);
        EXPECT_EQ(gzip_decode(encoded), plain) << size << " bytes";
    }
}

TEST(Gzip, DecodesMembersInARow) {
    Bytes encoded = gzip_encode(to_bytes("first "));
    const Bytes second = gzip_encode(to_bytes("second"));
    encoded.insert(encoded.end(), second.begin(), second.end());
    EXPECT_EQ(to_string(gzip_decode(encoded)), "first second");
}

TEST(Gzip, RefusesCorruptBodies) {
    const Bytes good = gzip_encode(sample(1000));
    Bytes bad_magic = good;
    bad_magic[0] = 0x1e;
    Bytes bad_data = good;
    bad_data[good.size() / 2] ^= 0xff;
    Bytes bad_checksum = good;
    bad_checksum[good.size() - 6] ^= 0x01;  // the CRC-32 in the trailer
    Bytes trailing_garbage = good;
    trailing_garbage.insert(trailing_garbage.end(), {'x', 'y', 'z'});
    for (const Bytes& corrupt : {bad_magic, bad_data, bad_checksum, trailing_garbage}) {
        const Error error = expect_error([&] { gzip_decode(corrupt); });
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
        EXPECT_TRUE(contains(error, "corrupt gzip body")) << error.what();
    }
}

TEST(Gzip, RefusesTruncatedBodies) {
    const Bytes good = gzip_encode(sample(1000));
    for (const std::size_t kept :
         {std::size_t{0}, std::size_t{5}, good.size() / 2, good.size() - 4, good.size() - 1}) {
        const Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(kept));
        const Error error = expect_error([&] { gzip_decode(truncated); });
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
        EXPECT_TRUE(contains(error, "truncated gzip body")) << kept << ": " << error.what();
    }
}

TEST(Gzip, RefusesABodyThatDecodesBeyondTheLimit) {
    constexpr std::size_t limit = 1024 * 1024;
    const Bytes exact = gzip_encode(Bytes(limit, 0));
    EXPECT_EQ(gzip_decode(exact, limit).size(), limit);

    const Bytes over = gzip_encode(Bytes(limit + 1, 0));
    const Error error = expect_error([&] { gzip_decode(over, limit); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(error, "more than 1048576 bytes")) << error.what();
}

TEST(Gzip, RefusesABombBeyondTheDefaultLimit) {
    // A few kilobytes that would inflate to 64 MiB.
    const Bytes bomb = gzip_encode(Bytes(64 * 1024 * 1024, 0));
    ASSERT_LT(bomb.size(), 100'000u);
    const Error error = expect_error([&] { gzip_decode(bomb); });
    EXPECT_TRUE(contains(error, "more than " + std::to_string(default_max_decoded_body)))
        << error.what();
}

TEST(DecodeBody, DecodesGzipAndSaysSoInItsHeaders) {
    for (const std::string_view coding : {"gzip", "x-gzip", " GZip "}) {
        Response reply = gzipped_reply(coding, to_bytes("plain text"));
        decode_body(reply);
        EXPECT_EQ(to_string(reply.body), "plain text") << coding;
        EXPECT_FALSE(reply.headers.get("Content-Encoding")) << coding;
        EXPECT_EQ(reply.headers.get("Content-Length"), "10") << coding;
        EXPECT_EQ(reply.headers.get("Content-Type"), "application/x-dmap-tagged");
    }
}

TEST(DecodeBody, LeavesPlainBodiesAlone) {
    Response without;
    without.body = to_bytes("plain");
    decode_body(without);
    EXPECT_EQ(to_string(without.body), "plain");

    Response identity;
    identity.headers = {{"Content-Encoding", "identity"}};
    identity.body = to_bytes("plain");
    decode_body(identity);
    EXPECT_EQ(to_string(identity.body), "plain");
    EXPECT_FALSE(identity.headers.get("Content-Encoding"));
}

TEST(DecodeBody, AnEmptyGzipReplyStaysEmpty) {
    Response no_content{.status = 204, .reason = "No Content"};
    no_content.headers = {{"Content-Encoding", "gzip"}};
    decode_body(no_content);
    EXPECT_TRUE(no_content.body.empty());
}

TEST(DecodeBody, RefusesCodingsItCannotRead) {
    for (const std::string_view coding : {"br", "deflate", "gzip, gzip"}) {
        Response reply = gzipped_reply(coding, to_bytes("plain"));
        const Error error = expect_error([&] { decode_body(reply); });
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
        EXPECT_TRUE(contains(error, "cannot read")) << error.what();
    }
}

TEST(DecodeBody, RefusesACorruptGzipBodyAndHonoursTheLimit) {
    Response corrupt = gzipped_reply("gzip", to_bytes("plain"));
    corrupt.body.pop_back();
    EXPECT_TRUE(contains(expect_error([&] { decode_body(corrupt); }), "truncated"));

    Response large = gzipped_reply("gzip", Bytes(2000, 'x'));
    EXPECT_TRUE(contains(expect_error([&] { decode_body(large, 1000); }), "more than 1000"));
}

}  // namespace
}  // namespace atv::http
