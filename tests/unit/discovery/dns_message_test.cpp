#include "discovery/dns_message.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::discovery::dns {
namespace {

// Appends without vector::insert on a fresh vector (GCC 12 warns wrongly there).
void append(Bytes& out, const Bytes& more) {
    for (std::uint8_t byte : more) {
        out.push_back(byte);
    }
}

Message airplay_reply() {
    const Name type = name_from_text("_airplay._tcp.local");
    Name instance = type;
    instance.insert(instance.begin(), "Living.Room");  // a dot inside the instance label
    const Name host = name_from_text("living-room.local");
    Message message;
    message.id = query_id;
    message.flags = 0x8400;
    message.answers.push_back(make_ptr(type, instance));
    message.additionals.push_back(make_srv(instance, 7000, host));
    message.additionals.push_back(
        make_txt(instance, {"deviceid=AA:BB:CC:DD:EE:FF", "model=AppleTV6,2"}));
    message.additionals.push_back(make_a(host, "169.254.3.4"));
    message.additionals.push_back(make_a(host, "10.0.0.5"));
    return message;
}

TEST(DnsMessage, QueriesAreGroupedAsPyatvDoes) {
    std::vector<std::string> names;
    for (int i = 0; i < 10; ++i) {
        names.push_back("_t" + std::to_string(i) + "._tcp.local");
    }
    const auto queries = service_queries(std::span<const std::string>(names), type_ptr);
    ASSERT_EQ(queries.size(), 4U);
    const std::vector<std::size_t> expected_sizes{5, 5, 5, 2};  // 4 types + sleep proxy, ...
    for (std::size_t i = 0; i < queries.size(); ++i) {
        const auto message = decode(queries[i]);
        ASSERT_TRUE(message.has_value());
        EXPECT_EQ(message->id, 0x35FF);
        EXPECT_EQ(message->flags, 0x0120);
        ASSERT_EQ(message->questions.size(), expected_sizes[i]);
        EXPECT_EQ(name_to_text(message->questions.front().name), names[i * 3]);
        EXPECT_EQ(name_to_text(message->questions.back().name), "_sleep-proxy._udp.local");
        for (const Question& question : message->questions) {
            EXPECT_EQ(question.type, type_ptr);
            EXPECT_EQ(question.qclass, 0x8001);
        }
    }
    // Windows overlap by one type.
    EXPECT_EQ(name_to_text(decode(queries[0])->questions[3].name), names[3]);
    EXPECT_EQ(name_to_text(decode(queries[1])->questions[0].name), names[3]);
}

TEST(DnsMessage, QueryWireFormat) {
    const std::vector<std::string> names{"_airplay._tcp.local"};
    const Bytes query = service_queries(std::span<const std::string>(names), type_ptr)[0];
    const Bytes header{0x35, 0xFF, 0x01, 0x20, 0x00, 0x02, 0, 0, 0, 0, 0, 0};
    ASSERT_GE(query.size(), header.size());
    EXPECT_EQ(Bytes(query.begin(), query.begin() + 12), header);
    const Bytes first_question{8,   '_', 'a', 'i', 'r', 'p', 'l', 'a', 'y',  4,    '_',  't', 'c',
                               'p', 5,   'l', 'o', 'c', 'a', 'l', 0,   0x00, 0x0C, 0x80, 0x01};
    EXPECT_EQ(Bytes(query.begin() + 12, query.begin() + 12 + 25), first_question);
}

TEST(DnsMessage, RoundTrip) {
    const Message original = airplay_reply();
    const Bytes wire = encode(original);
    std::string error;
    const auto decoded = decode(wire, &error);
    ASSERT_TRUE(decoded.has_value()) << error;
    EXPECT_EQ(decoded->flags, 0x8400);
    ASSERT_EQ(decoded->answers.size(), 1U);
    ASSERT_EQ(decoded->additionals.size(), 4U);
    EXPECT_EQ(decoded->answers[0].ptr[0], "Living.Room");
    ASSERT_TRUE(decoded->additionals[0].srv.has_value());
    EXPECT_EQ(decoded->additionals[0].srv->port, 7000);
    EXPECT_EQ(name_to_text(decoded->additionals[0].srv->target), "living-room.local");
    EXPECT_EQ(decoded->additionals[3].address, "10.0.0.5");
}

TEST(DnsMessage, ParseServicesFromReply) {
    const auto services = parse_services(*decode(encode(airplay_reply())));
    ASSERT_EQ(services.size(), 1U);
    EXPECT_EQ(services[0].kind, ServiceKind::airplay);
    EXPECT_EQ(services[0].instance_name, "Living.Room");
    EXPECT_EQ(services[0].port, 7000);
    EXPECT_EQ(services[0].address, "10.0.0.5");  // the link-local one is skipped
    EXPECT_EQ(services[0].properties.at("model"), "AppleTV6,2");
}

TEST(DnsMessage, PtrWithoutSrvHasPortZero) {
    Message message;
    message.flags = 0x8400;
    const Name type = name_from_text("_raop._tcp.local");
    Name instance = type;
    instance.insert(instance.begin(), "AABBCCDDEEFF@Speaker");
    message.answers.push_back(make_ptr(type, instance));
    message.answers.push_back(
        make_ptr(name_from_text("_unknown._tcp.local"), name_from_text("x._unknown._tcp.local")));
    const auto services = parse_services(*decode(encode(message)));
    ASSERT_EQ(services.size(), 1U);
    EXPECT_EQ(services[0].port, 0);
    EXPECT_TRUE(services[0].address.empty());
}

TEST(DnsMessage, CompressedNames) {
    // Question "_airplay._tcp.local" at 12; answer owner points to it; PTR rdata is
    // "TV" + pointer to the question name.
    Bytes wire{0x35, 0xFF, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0};
    const Bytes question{8,   '_', 'a', 'i', 'r', 'p', 'l', 'a', 'y',  4,    '_',  't', 'c',
                         'p', 5,   'l', 'o', 'c', 'a', 'l', 0,   0x00, 0x0C, 0x00, 0x01};
    append(wire, question);
    const Bytes answer{0xC0, 12, 0x00, 0x0C, 0x00, 0x01, 0,    0, 0x11,
                       0x94, 0,  5,    2,    'T',  'V',  0xC0, 12};
    append(wire, answer);
    std::string error;
    const auto message = decode(wire, &error);
    ASSERT_TRUE(message.has_value()) << error;
    EXPECT_EQ(name_to_text(message->answers[0].name), "_airplay._tcp.local");
    EXPECT_EQ(name_to_text(message->answers[0].ptr), "TV._airplay._tcp.local");
}

Bytes with_question_name(Bytes name_bytes, std::uint16_t qdcount = 1) {
    Bytes wire{0,
               0,
               0,
               0,
               static_cast<std::uint8_t>(qdcount >> 8),
               static_cast<std::uint8_t>(qdcount & 0xFF),
               0,
               0,
               0,
               0,
               0,
               0};
    append(wire, name_bytes);
    append(wire, {0, 12, 0, 1});
    return wire;
}

TEST(DnsMessage, PointerToItselfIsALoop) {
    std::string error;
    EXPECT_FALSE(decode(with_question_name({0xC0, 12}), &error).has_value());
    EXPECT_NE(error.find("loop"), std::string::npos);
}

TEST(DnsMessage, PointerCycleIsALoop) {
    // At 12: label "a", then a pointer to 12 again.
    EXPECT_FALSE(decode(with_question_name({1, 'a', 0xC0, 12})).has_value());
}

TEST(DnsMessage, ForwardPointerIsRejected) {
    EXPECT_FALSE(decode(with_question_name({0xC0, 20, 0, 0, 0, 0, 0, 0, 1, 'a', 0})).has_value());
}

TEST(DnsMessage, ReservedLabelTypeIsRejected) {
    EXPECT_FALSE(decode(with_question_name({0x40, 'a', 0})).has_value());
}

TEST(DnsMessage, OverlongNameIsRejected) {
    Bytes name;
    for (int i = 0; i < 5; ++i) {
        name.push_back(63);
        name.insert(name.end(), 63, 'x');
    }
    name.push_back(0);
    std::string error;
    EXPECT_FALSE(decode(with_question_name(name), &error).has_value());
    EXPECT_NE(error.find("255"), std::string::npos);
}

TEST(DnsMessage, ImpossibleCountsAreRejected) {
    Bytes wire{0, 0, 0x84, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0};
    append(wire, Bytes(50, 0));
    std::string error;
    EXPECT_FALSE(decode(wire, &error).has_value());
    EXPECT_NE(error.find("counts"), std::string::npos);
}

TEST(DnsMessage, EveryTruncationIsAnError) {
    const Bytes wire = encode(airplay_reply());
    for (std::size_t size = 0; size < wire.size(); ++size) {
        EXPECT_FALSE(decode(ByteView(wire.data(), size)).has_value()) << size;
    }
}

TEST(DnsMessage, TrailingBytesAreAnError) {
    Bytes wire = encode(airplay_reply());
    wire.push_back(0);
    EXPECT_FALSE(decode(wire).has_value());
}

TEST(DnsMessage, BadRdataIsAnError) {
    Message message;
    Record a = make_a(name_from_text("h.local"), "10.0.0.1");
    a.rdata.push_back(0);  // five bytes
    message.answers.push_back(a);
    EXPECT_FALSE(decode(encode(message)).has_value());

    Message srv_message;
    Record srv = make_srv(name_from_text("x._airplay._tcp.local"), 7000, name_from_text("h.local"));
    srv.rdata.resize(6);  // no target
    srv_message.answers.push_back(srv);
    EXPECT_FALSE(decode(encode(srv_message)).has_value());
}

TEST(DnsMessage, EncoderRejectsBadLabels) {
    Message message;
    message.questions.push_back({Name{std::string(64, 'x'), "local"}, type_ptr, class_in_unicast});
    EXPECT_THROW(encode(message), Error);
    Message empty_label;
    empty_label.questions.push_back({Name{"", "local"}, type_ptr, class_in_unicast});
    EXPECT_THROW(encode(empty_label), Error);
}

TEST(DnsMessage, NamesCompareIgnoringCase) {
    EXPECT_TRUE(
        same_name(name_from_text("_AirPlay._TCP.local"), name_from_text("_airplay._tcp.LOCAL")));
    EXPECT_FALSE(same_name(name_from_text("a.b"), name_from_text("a.c")));
}

}  // namespace
}  // namespace atv::discovery::dns
