#include "companion/text_input.hpp"

#include <gtest/gtest.h>

#include <string>

#include "atv/error.hpp"

namespace atv::companion {
namespace {

Bytes hex(std::string_view text) {
    return from_hex(text).value();
}

const Bytes uuid{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

// Written by Python's plistlib in the shapes pyatv documents (its keyed_archiver.py and
// plist_payloads): a focused field holding "Hello wörld", an insertion of "typed", a clear.
constexpr std::string_view focused_session =
    "62706c6973743030d2010203085424746f7058246f626a65637473d2040506075b73657373696f6e555549445d"
    "646f63756d656e74537461746580018002a5090a0b0e1155246e756c6c4f101030313233343536373839616263"
    "646566d10c0d55646f6353748003d10f105f1012636f6e746578744265666f7265496e70757480046b0048006500"
    "6c006c006f0020007700f60072006c0064080d121b202c3a3c3e444a5d6066686b80820000000000000101000000"
    "000000001200000000000000000000000000000099";
constexpr std::string_view insert_operation =
    "62706c6973743030d4010203040506070a582476657273696f6e592461726368697665725424746f7058246f626a"
    "6563747312000186a05f10105254494b657965644172636869766572d108095e746578744f7065726174696f6e73"
    "8001a80b0c1317181e222555246e756c6cd30d0e0f1011125e6b6579626f6172644f75747075745624636c617373"
    "5f101174617267657453657373696f6e55554944800280078005d2140e15165d696e73657274696f6e5465787480"
    "038004557479706564d2191a1b1c5a24636c6173736e616d655824636c61737365735f101054494b6579626f6172"
    "644f7574707574a21b1d584e534f626a656374d21f0e20215c4e532e7575696462797465734f1010303132333435"
    "363738396162636465668006d2191a2324564e5355554944a2231dd2191a26275f1011525449546578744f706572"
    "6174696f6e73a2261d00080011001a0024002900320037004a004d005c005e0067006d00740083008a009e00a000"
    "a200a400a900b700b900bb00c100c600d100da00ed00f000f900fe010b011e01200125012c012f01340148000000"
    "000000020100000000000000280000000000000000000000000000014b";
constexpr std::string_view clear_operation =
    "62706c6973743030d4010203040506070a582476657273696f6e592461726368697665725424746f7058246f626a"
    "6563747312000186a05f10105254494b657965644172636869766572d108095e746578744f7065726174696f6e73"
    "8001a80b0c15171d1e222555246e756c6cd40d0e0f10111213145624636c6173735f101174617267657453657373"
    "696f6e555549445e6b6579626f6172644f75747075745c74657874546f4173736572748007800580028004d10d16"
    "8003d218191a1b5a24636c6173736e616d655824636c61737365735f101054494b6579626f6172644f7574707574"
    "a21a1c584e534f626a65637450d21f0d20215c4e532e7575696462797465734f1010303132333435363738396162"
    "636465668006d218192324564e5355554944a2231cd2181926275f1011525449546578744f7065726174696f6e73"
    "a2261c00080011001a0024002900320037004a004d005c005e0067006d0076007d009100a000ad00af00b100b300"
    "b500b800ba00bf00ca00d300e600e900f200f300f801050118011a011f01260129012e0142000000000000020100"
    "0000000000002800000000000000000000000000000145";

void expect_not_understood(const Bytes& archive, std::string_view why) {
    try {
        decode_text_input_session(archive);
        ADD_FAILURE() << "accepted an archive with " << why;
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::not_supported);
        EXPECT_NE(std::string(error.what()).find(why), std::string::npos) << error.what();
    }
}

TEST(TextInput, ReadsAFocusedFieldAsADeviceSendsIt) {
    const TextInputSession session = decode_text_input_session(hex(focused_session));
    EXPECT_EQ(session.session_uuid, uuid);
    EXPECT_EQ(session.text, "Hello w\xc3\xb6rld");
    EXPECT_EQ(session.text_bytes, 12u);
    EXPECT_FALSE(session.text_over_limit);
}

TEST(TextInput, ReadsTheOperationsARemoteSends) {
    const TextOperation insert = decode_text_operation(hex(insert_operation));
    EXPECT_EQ(insert.target_session_uuid, uuid);
    EXPECT_FALSE(insert.clear);
    EXPECT_EQ(insert.insertion, "typed");
    const TextOperation clear = decode_text_operation(hex(clear_operation));
    EXPECT_EQ(clear.target_session_uuid, uuid);
    EXPECT_TRUE(clear.clear);
    EXPECT_FALSE(clear.insertion.has_value());
}

TEST(TextInput, WritesWhatItReads) {
    const TextOperation insert =
        decode_text_operation(encode_text_insert(uuid, "caf\xc3\xa9 \xf0\x9f\x8d\xb5"));
    EXPECT_EQ(insert.target_session_uuid, uuid);
    EXPECT_FALSE(insert.clear);
    EXPECT_EQ(insert.insertion, "caf\xc3\xa9 \xf0\x9f\x8d\xb5");
    const TextOperation clear = decode_text_operation(encode_text_clear(uuid));
    EXPECT_TRUE(clear.clear);
    EXPECT_FALSE(clear.insertion.has_value());
    const TextInputSession session =
        decode_text_input_session(encode_text_input_session(uuid, "Hello"));
    EXPECT_EQ(session.session_uuid, uuid);
    EXPECT_EQ(session.text, "Hello");
}

TEST(TextInput, MeasuresButDoesNotKeepTextOverTheLimit) {
    TextInputLimits limits;
    limits.max_text_bytes = 10;
    const TextInputSession session =
        decode_text_input_session(encode_text_input_session(uuid, std::string(11, 'x')), limits);
    EXPECT_TRUE(session.text_over_limit);
    EXPECT_EQ(session.text_bytes, 11u);
    EXPECT_TRUE(session.text.empty());
    EXPECT_EQ(session.session_uuid, uuid);
}

TEST(TextInput, RefusesWhatIsNoArchiveWithin) {
    expect_not_understood(Bytes{'b', 'p', 'l', 'i', 's', 't'}, "not a binary property list");
    TextInputLimits small;
    small.max_archive_bytes = 100;
    try {
        decode_text_input_session(hex(focused_session), small);
        ADD_FAILURE() << "accepted an archive over the limit";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("203 bytes, more than the 100"),
                  std::string::npos);
    }
    // A reference past $objects: {$top: {sessionUUID: UID 9}, $objects: [$null]}.
    expect_not_understood(hex("62706c6973743030d2010203065424746f7058246f626a65637473d104055b73"
                              "657373696f6e555549448009a10755246e756c6c080d121b1e2a2c2e00000000"
                              "0000010100000000000000080000000000000000000000000000"
                              "0034"),
                          "reference to object 9");
    // A text operation is no session.
    expect_not_understood(encode_text_clear(uuid), "no sessionUUID");
}

TEST(TextInput, RefusesToWriteWhatADeviceCannotRead) {
    EXPECT_THROW(encode_text_insert(uuid, std::string("a\0b", 3)), Error);
    EXPECT_THROW(encode_text_insert(uuid, "\xff"), Error);
    EXPECT_THROW(encode_text_clear(Bytes{1, 2, 3}), Error);
}

}  // namespace
}  // namespace atv::companion
