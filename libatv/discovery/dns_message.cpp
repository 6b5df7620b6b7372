#include "discovery/dns_message.hpp"

#include <algorithm>
#include <asio/ip/address_v4.hpp>
#include <map>

#include "atv/error.hpp"
#include "discovery/txt.hpp"

namespace atv::discovery::dns {

namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t min_question_size = 5;  // root name + type + class
constexpr std::size_t min_record_size = 11;   // root name + type + class + ttl + rdlength

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

void put16(Bytes& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

void put32(Bytes& out, std::uint32_t value) {
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value & 0xFFFF));
}

void put_name(Bytes& out, const Name& name) {
    std::size_t length = 1;
    for (const std::string& label : name) {
        if (label.empty() || label.size() > max_label_length) {
            throw Error(ErrorKind::invalid_arguments,
                        "DNS label '" + label + "' must be 1 to 63 bytes long");
        }
        length += label.size() + 1;
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
    }
    if (length > max_name_length) {
        throw Error(ErrorKind::invalid_arguments, "DNS name longer than 255 bytes");
    }
    out.push_back(0);
}

void put_record(Bytes& out, const Record& record) {
    put_name(out, record.name);
    put16(out, record.type);
    put16(out, record.rclass);
    put32(out, record.ttl);
    put16(out, static_cast<std::uint16_t>(record.rdata.size()));
    out.insert(out.end(), record.rdata.begin(), record.rdata.end());
}

// Reads over a message and fails (never throws, never reads past the end) on bad input.
class Reader {
  public:
    explicit Reader(ByteView data) : data_(data) {}

    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::size_t position() const { return pos_; }
    [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }

    bool fail(std::string reason) {
        if (error_.empty()) {
            error_ = std::move(reason);
        }
        return false;
    }

    bool u16(std::uint16_t& value) {
        if (remaining() < 2) {
            return fail("truncated at offset " + std::to_string(pos_));
        }
        value = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return true;
    }

    bool u32(std::uint32_t& value) {
        std::uint16_t high = 0;
        std::uint16_t low = 0;
        if (!u16(high) || !u16(low)) {
            return false;
        }
        value = (static_cast<std::uint32_t>(high) << 16) | low;
        return true;
    }

    bool bytes(std::size_t count, Bytes& out) {
        if (remaining() < count) {
            return fail("truncated at offset " + std::to_string(pos_));
        }
        out.assign(data_.begin() + static_cast<std::ptrdiff_t>(pos_),
                   data_.begin() + static_cast<std::ptrdiff_t>(pos_ + count));
        pos_ += count;
        return true;
    }

    // A possibly compressed name at the current position; every pointer must point before
    // the lowest offset read so far, so following them always terminates.
    bool name(Name& out) { return name_at(pos_, out, &pos_); }

    bool name_at(std::size_t start, Name& out, std::size_t* end) {
        out.clear();
        std::size_t cursor = start;
        std::size_t limit = start;
        std::size_t length = 1;
        std::size_t hops = 0;
        bool jumped = false;
        while (true) {
            if (cursor >= data_.size()) {
                return fail("name truncated at offset " + std::to_string(cursor));
            }
            const std::uint8_t head = data_[cursor];
            if ((head & 0xC0) == 0xC0) {
                if (cursor + 1 >= data_.size()) {
                    return fail("name pointer truncated at offset " + std::to_string(cursor));
                }
                const std::size_t target =
                    (static_cast<std::size_t>(head & 0x3F) << 8) | data_[cursor + 1];
                if (target >= limit || ++hops > max_pointer_hops) {
                    return fail("name pointer loop at offset " + std::to_string(cursor));
                }
                if (!jumped && end != nullptr) {
                    *end = cursor + 2;
                }
                jumped = true;
                limit = target;
                cursor = target;
            } else if ((head & 0xC0) != 0) {
                return fail("unknown label type at offset " + std::to_string(cursor));
            } else if (head == 0) {
                if (!jumped && end != nullptr) {
                    *end = cursor + 1;
                }
                return true;
            } else {
                if (cursor + 1 + head > data_.size()) {
                    return fail("label truncated at offset " + std::to_string(cursor));
                }
                length += head + 1U;
                if (length > max_name_length) {
                    return fail("name longer than 255 bytes at offset " + std::to_string(start));
                }
                out.emplace_back(reinterpret_cast<const char*>(&data_[cursor + 1]), head);
                cursor += 1U + head;
            }
        }
    }

  private:
    ByteView data_;
    std::size_t pos_ = 0;
    std::string error_;
};

bool decode_rdata(Reader& reader, Record& record, std::size_t rdata_start) {
    const std::size_t rdata_end = rdata_start + record.rdata.size();
    switch (record.type) {
        case type_a:
            if (record.rdata.size() != 4) {
                return reader.fail("A record with " + std::to_string(record.rdata.size()) +
                                   " bytes");
            }
            record.address = asio::ip::address_v4({record.rdata[0], record.rdata[1],
                                                   record.rdata[2], record.rdata[3]})
                                 .to_string();
            return true;
        case type_ptr: {
            std::size_t end = 0;
            if (!reader.name_at(rdata_start, record.ptr, &end)) {
                return false;
            }
            return end == rdata_end || reader.fail("PTR name does not fill its record");
        }
        case type_srv: {
            if (record.rdata.size() < 7) {
                return reader.fail("SRV record too short");
            }
            Srv srv;
            srv.priority = static_cast<std::uint16_t>((record.rdata[0] << 8) | record.rdata[1]);
            srv.weight = static_cast<std::uint16_t>((record.rdata[2] << 8) | record.rdata[3]);
            srv.port = static_cast<std::uint16_t>((record.rdata[4] << 8) | record.rdata[5]);
            std::size_t end = 0;
            if (!reader.name_at(rdata_start + 6, srv.target, &end)) {
                return false;
            }
            if (end != rdata_end) {
                return reader.fail("SRV target does not fill its record");
            }
            record.srv = std::move(srv);
            return true;
        }
        default:
            return true;
    }
}

bool read_records(Reader& reader, std::size_t count, std::vector<Record>& out) {
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        Record record;
        std::uint16_t length = 0;
        if (!reader.name(record.name) || !reader.u16(record.type) || !reader.u16(record.rclass) ||
            !reader.u32(record.ttl) || !reader.u16(length)) {
            return false;
        }
        const std::size_t rdata_start = reader.position();
        if (!reader.bytes(length, record.rdata) || !decode_rdata(reader, record, rdata_start)) {
            return false;
        }
        out.push_back(std::move(record));
    }
    return true;
}

std::string name_key(const Name& name) {
    std::string key;
    for (const std::string& label : name) {
        for (char c : label) {
            key += ascii_lower(c);
        }
        key += '\0';
    }
    return key;
}

bool usable_address(const std::string& address) {
    std::error_code error;
    const auto parsed = asio::ip::make_address_v4(address, error);
    if (error) {
        return false;
    }
    const auto bytes = parsed.to_bytes();
    const bool link_local = bytes[0] == 169 && bytes[1] == 254;
    return !link_local && !parsed.is_unspecified();
}

// Type of an instance name: {instance, "_x", "_tcp"|"_udp", "local"}.
std::optional<ServiceKind> kind_of_instance(const Name& name) {
    if (name.size() != 4) {
        return std::nullopt;
    }
    const auto type = find_service_type(name[1] + "." + name[2] + "." + name[3]);
    return type ? std::optional(type->kind) : std::nullopt;
}

}  // namespace

Name name_from_text(std::string_view text) {
    Name name;
    while (!text.empty()) {
        const std::size_t dot = text.find('.');
        name.emplace_back(text.substr(0, dot));
        if (dot == std::string_view::npos) {
            break;
        }
        text.remove_prefix(dot + 1);
    }
    return name;
}

std::string name_to_text(const Name& name) {
    std::string text;
    for (const std::string& label : name) {
        if (!text.empty()) {
            text += '.';
        }
        text += label;
    }
    return text;
}

bool same_name(const Name& a, const Name& b) {
    return name_key(a) == name_key(b);
}

Bytes encode(const Message& message) {
    Bytes out;
    put16(out, message.id);
    put16(out, message.flags);
    put16(out, static_cast<std::uint16_t>(message.questions.size()));
    put16(out, static_cast<std::uint16_t>(message.answers.size()));
    put16(out, static_cast<std::uint16_t>(message.authorities.size()));
    put16(out, static_cast<std::uint16_t>(message.additionals.size()));
    for (const Question& question : message.questions) {
        put_name(out, question.name);
        put16(out, question.type);
        put16(out, question.qclass);
    }
    for (const auto* section : {&message.answers, &message.authorities, &message.additionals}) {
        for (const Record& record : *section) {
            put_record(out, record);
        }
    }
    return out;
}

std::optional<Message> decode(ByteView data, std::string* error) {
    Reader reader(data);
    Message message;
    std::uint16_t counts[4] = {};
    const auto failed = [&]() -> std::optional<Message> {
        if (error != nullptr) {
            *error = reader.error();
        }
        return std::nullopt;
    };
    if (data.size() < header_size) {
        reader.fail("message shorter than a DNS header");
        return failed();
    }
    reader.u16(message.id);
    reader.u16(message.flags);
    for (std::uint16_t& count : counts) {
        reader.u16(count);
    }
    const std::size_t record_count = std::size_t{counts[1]} + counts[2] + counts[3];
    if (counts[0] * min_question_size + record_count * min_record_size > reader.remaining()) {
        reader.fail("record counts exceed the message size");
        return failed();
    }
    message.questions.reserve(counts[0]);
    for (std::size_t i = 0; i < counts[0]; ++i) {
        Question question;
        if (!reader.name(question.name) || !reader.u16(question.type) ||
            !reader.u16(question.qclass)) {
            return failed();
        }
        message.questions.push_back(std::move(question));
    }
    if (!read_records(reader, counts[1], message.answers) ||
        !read_records(reader, counts[2], message.authorities) ||
        !read_records(reader, counts[3], message.additionals)) {
        return failed();
    }
    if (reader.remaining() != 0) {
        reader.fail("trailing bytes after the last record");
        return failed();
    }
    return message;
}

std::vector<Bytes> service_queries(std::span<const std::string> names, std::uint16_t qtype) {
    std::vector<Name> parsed;
    for (const std::string& name : names) {
        parsed.push_back(name_from_text(name));
    }
    return service_queries(std::span<const Name>(parsed), qtype);
}

std::vector<Bytes> service_queries(std::span<const Name> names, std::uint16_t qtype) {
    constexpr std::size_t per_message = 3;
    std::vector<Bytes> queries;
    for (std::size_t start = 0; start < names.size(); start += per_message) {
        Message message;
        message.id = query_id;
        message.flags = query_flags;
        const std::size_t end = std::min(names.size(), start + per_message + 1);
        for (std::size_t i = start; i < end; ++i) {
            message.questions.push_back({names[i], qtype, class_in_unicast});
        }
        message.questions.push_back(
            {name_from_text("_sleep-proxy._udp.local"), qtype, class_in_unicast});
        queries.push_back(encode(message));
    }
    return queries;
}

std::vector<FoundService> parse_services(const Message& message) {
    std::map<std::string, std::vector<const Record*>> by_name;
    std::vector<Name> instances;
    std::map<std::string, bool> seen;
    const auto add_instance = [&](const Name& name) {
        if (kind_of_instance(name) && seen.emplace(name_key(name), true).second) {
            instances.push_back(name);
        }
    };
    for (const auto* section : {&message.answers, &message.additionals, &message.authorities}) {
        for (const Record& record : *section) {
            by_name[name_key(record.name)].push_back(&record);
            if (record.type == type_ptr && !record.name.empty() &&
                record.name[0].starts_with('_')) {
                add_instance(record.ptr);
            } else if (record.type == type_srv || record.type == type_txt) {
                add_instance(record.name);
            }
        }
    }
    const auto records_of = [&](const Name& name) -> const std::vector<const Record*>* {
        const auto found = by_name.find(name_key(name));
        return found == by_name.end() ? nullptr : &found->second;
    };
    std::vector<FoundService> services;
    for (const Name& instance : instances) {
        FoundService service;
        service.kind = *kind_of_instance(instance);
        service.full_name = instance;
        service.instance_name = to_valid_utf8(instance[0]);
        if (const auto* records = records_of(instance)) {
            for (const Record* record : *records) {
                if (record->type == type_srv && record->srv && service.port == 0) {
                    service.port = record->srv->port;
                    if (const auto* targets = records_of(record->srv->target)) {
                        for (const Record* target : *targets) {
                            if (target->type == type_a && service.address.empty() &&
                                usable_address(target->address)) {
                                service.address = target->address;
                            }
                        }
                    }
                } else if (record->type == type_txt && service.properties.empty()) {
                    service.properties = parse_txt_rdata(record->rdata);
                }
            }
        }
        services.push_back(std::move(service));
    }
    return services;
}

Record make_ptr(const Name& owner, const Name& target) {
    Record record{owner, type_ptr, 1, 4500, {}, target, std::nullopt, {}};
    put_name(record.rdata, target);
    return record;
}

Record make_srv(const Name& owner, std::uint16_t port, const Name& target) {
    Record record{owner, type_srv, 1, 120, {}, {}, Srv{0, 0, port, target}, {}};
    put16(record.rdata, 0);
    put16(record.rdata, 0);
    put16(record.rdata, port);
    put_name(record.rdata, target);
    return record;
}

Record make_txt(const Name& owner, const std::vector<std::string>& entries) {
    Record record{owner, type_txt, 1, 4500, {}, {}, std::nullopt, {}};
    for (const std::string& entry : entries) {
        const std::size_t size = std::min<std::size_t>(entry.size(), 255);
        record.rdata.push_back(static_cast<std::uint8_t>(size));
        record.rdata.insert(record.rdata.end(), entry.begin(),
                            entry.begin() + static_cast<std::ptrdiff_t>(size));
    }
    if (entries.empty()) {
        record.rdata.push_back(0);
    }
    return record;
}

Record make_a(const Name& owner, std::string_view dotted_quad) {
    Record record{owner, type_a, 1, 120, {}, {}, std::nullopt, std::string(dotted_quad)};
    const auto bytes = asio::ip::make_address_v4(std::string(dotted_quad)).to_bytes();
    record.rdata.assign(bytes.begin(), bytes.end());
    return record;
}

}  // namespace atv::discovery::dns
