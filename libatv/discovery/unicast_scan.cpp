#include "discovery/unicast_scan.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <memory>

#include "atv/discovery.hpp"
#include "atv/error.hpp"

namespace atv::discovery {

namespace {

using std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::string lower(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return result;
}

std::string type_text(ServiceKind kind) {
    for (const ServiceType& type : service_types()) {
        if (type.kind == kind) {
            return std::string(type.name) + ".local";
        }
    }
    return {};
}

// The name under which a responder lists the service types it offers (RFC 6763 §9).
const dns::Name& type_list_name() {
    static const dns::Name name = dns::name_from_text("_services._dns-sd._udp.local");
    return name;
}

Bytes type_list_query() {
    dns::Message message;
    message.id = dns::query_id;
    message.flags = dns::query_flags;
    message.questions.push_back({type_list_name(), dns::type_ptr, dns::class_in_unicast});
    return dns::encode(message);
}

bool wanted(const ServiceType& type, const std::set<Protocol>& protocols) {
    if (protocols.empty()) {
        return true;
    }
    if (type.kind == ServiceKind::airport) {
        return protocols.count(Protocol::airplay) != 0;
    }
    return !type.protocol || protocols.count(*type.protocol) != 0;
}

}  // namespace

std::vector<std::string> query_type_names(const std::set<Protocol>& protocols) {
    std::vector<std::string> names;
    for (const ServiceType& type : service_types()) {
        if (wanted(type, protocols)) {
            names.push_back(std::string(type.name) + ".local");
        }
    }
    return names;
}

HostScan::HostScan(std::string host_address, std::set<Protocol> protocols)
    : host_address_(std::move(host_address)), protocols_(std::move(protocols)) {
    const std::vector<std::string> names = query_type_names(protocols_);
    queries_ = dns::service_queries(std::span<const std::string>(names), dns::type_ptr);
    for (const Bytes& query : queries_) {
        const auto message = dns::decode(query);
        std::vector<std::string> types;
        for (const dns::Question& question : message->questions) {
            types.push_back(lower(dns::name_to_text(question.name)));
        }
        question_types_.push_back(std::move(types));
    }
    answered_.assign(queries_.size(), false);
    type_list_query_ = type_list_query();
}

std::vector<Bytes> HostScan::messages_to_send() const {
    std::vector<Bytes> messages;
    for (std::size_t i = 0; i < queries_.size(); ++i) {
        if (!answered_[i]) {
            messages.push_back(queries_[i]);
        }
    }
    if (!type_list_answered_) {
        messages.push_back(type_list_query_);
    }
    if (!wake_answered_) {
        messages.insert(messages.end(), wake_queries_.begin(), wake_queries_.end());
    }
    return messages;
}

std::optional<steady_clock::time_point> HostScan::quiet_deadline() const {
    if (!last_reply_ || (deep_sleep_ && !wake_answered_)) {
        return std::nullopt;
    }
    return *last_reply_ + quiet_period;
}

bool HostScan::done(steady_clock::time_point now) const {
    const auto quiet = quiet_deadline();
    return complete() || (quiet && now >= *quiet);
}

bool HostScan::complete() const {
    const bool all_answered =
        std::all_of(answered_.begin(), answered_.end(), [](bool a) { return a; });
    return all_answered && (!deep_sleep_ || wake_answered_);
}

void HostScan::mark_answered(const dns::Message& reply,
                             const std::vector<dns::FoundService>& found) {
    std::vector<std::string> asked;
    for (const dns::Question& question : reply.questions) {
        asked.push_back(lower(dns::name_to_text(question.name)));
    }
    std::vector<std::string> answered_types;
    for (const dns::FoundService& service : found) {
        answered_types.push_back(type_text(service.kind));
    }
    const auto matches = [&](std::size_t i) {
        const auto& types = question_types_[i];
        const auto contains = [&](const std::string& type) {
            return std::find(types.begin(), types.end(), type) != types.end();
        };
        if (!asked.empty()) {
            return std::all_of(asked.begin(), asked.end(), contains);
        }
        return std::any_of(answered_types.begin(), answered_types.end(), [&](const std::string& t) {
            return t != "_sleep-proxy._udp.local" && contains(t);
        });
    };
    for (std::size_t i = 0; i < queries_.size(); ++i) {
        if (!answered_[i] && matches(i)) {
            answered_[i] = true;
            return;
        }
    }
    // A reply we cannot attribute still counts for one message, as pyatv counts replies.
    const bool is_wake_reply =
        !reply.questions.empty() && reply.questions.front().type == dns::type_any;
    if (is_wake_reply) {
        wake_answered_ = true;
        return;
    }
    for (std::size_t i = 0; i < queries_.size(); ++i) {
        if (!answered_[i]) {
            answered_[i] = true;
            return;
        }
    }
    if (deep_sleep_) {
        wake_answered_ = true;
    }
}

bool HostScan::take_type_list(const dns::Message& reply) {
    const auto is_type_list = [](const auto& entry) {
        return dns::same_name(entry.name, type_list_name());
    };
    const bool asked = std::any_of(reply.questions.begin(), reply.questions.end(), is_type_list);
    const bool listed = std::any_of(reply.answers.begin(), reply.answers.end(), is_type_list);
    if (!asked && !listed) {
        return false;
    }
    type_list_answered_ = true;
    std::set<std::string> offered;
    for (const dns::Record& record : reply.answers) {
        if (record.type == dns::type_ptr && is_type_list(record)) {
            offered.insert(lower(dns::name_to_text(record.ptr)));
        }
    }
    if (offered.empty()) {
        return true;  // an empty list says nothing of what will come
    }
    // A query message asking only for types the host does not offer will get no reply.
    for (std::size_t i = 0; i < queries_.size(); ++i) {
        const auto& types = question_types_[i];
        const bool answerable = std::any_of(types.begin(), types.end(), [&](const auto& type) {
            return offered.contains(type) && type != "_sleep-proxy._udp.local";
        });
        if (!answerable) {
            answered_[i] = true;
        }
    }
    return true;
}

void HostScan::add(const dns::FoundService& service) {
    for (const ServiceType& type : service_types()) {
        if (type.kind == service.kind && !wanted(type, protocols_)) {
            return;
        }
    }
    const std::string id = type_text(service.kind) + '\n' + lower(service.instance_name);
    ServiceRecord record;
    record.kind = service.kind;
    record.instance_name = service.instance_name;
    record.address = service.address.empty() ? host_address_ : service.address;
    record.port = service.port;
    record.properties = service.properties;
    auto [entry, inserted] = records_.emplace(id, record);
    if (!inserted) {
        // A later reply without SRV or TXT (a sleep proxy's) does not erase what we know.
        if (record.port != 0) {
            entry->second.port = record.port;
            entry->second.address = record.address;
        }
        if (!record.properties.empty()) {
            entry->second.properties = std::move(record.properties);
        }
    }
}

bool HostScan::on_datagram(ByteView data, steady_clock::time_point now) {
    std::string error;
    const auto reply = dns::decode(data, &error);
    if (!reply) {
        spdlog::debug("unicast scan of {}: ignoring malformed reply ({})", host_address_, error);
        return false;
    }
    if ((reply->flags & dns::flag_response) == 0) {
        return false;
    }
    last_reply_ = now;
    if (take_type_list(*reply)) {
        return true;
    }
    const std::vector<dns::FoundService> found = dns::parse_services(*reply);
    for (const dns::FoundService& service : found) {
        add(service);
    }
    const bool all_port_zero =
        !found.empty() &&
        std::all_of(found.begin(), found.end(), [](const auto& s) { return s.port == 0; });
    if (all_port_zero) {
        // A sleep proxy answered: ask it for everything about each named service.
        deep_sleep_ = true;
        for (const dns::FoundService& service : found) {
            const bool known = std::any_of(
                wake_names_.begin(), wake_names_.end(),
                [&](const dns::Name& name) { return dns::same_name(name, service.full_name); });
            if (!known) {
                wake_names_.push_back(service.full_name);
            }
        }
        wake_queries_ =
            dns::service_queries(std::span<const dns::Name>(wake_names_), dns::type_any);
    }
    mark_answered(*reply, found);
    return true;
}

std::vector<DeviceConfig> HostScan::devices() const {
    DeviceTable table;
    for (const auto& [id, record] : records_) {
        table.upsert(id, record);
    }
    std::vector<DeviceConfig> devices;
    for (auto& [key, config] : table.devices()) {
        config.deep_sleep = config.deep_sleep || deep_sleep_;
        devices.push_back(std::move(config));
    }
    return devices;
}

namespace {

// Waits for one datagram until the deadline; nullopt on timeout or a socket error.
asio::awaitable<std::optional<std::size_t>> receive_until(asio::ip::udp::socket& socket,
                                                          std::span<std::uint8_t> buffer,
                                                          steady_clock::time_point deadline) {
    asio::steady_timer timer(socket.get_executor(), deadline);
    timer.async_wait([&socket](std::error_code error) {
        if (!error) {
            socket.cancel();
        }
    });
    auto [error, size] =
        co_await socket.async_receive(asio::buffer(buffer.data(), buffer.size()), use_tuple);
    timer.cancel();
    if (error) {
        co_return std::nullopt;
    }
    co_return size;
}

asio::awaitable<std::vector<DeviceConfig>> scan_host(asio::ip::address address,
                                                     std::set<Protocol> protocols,
                                                     steady_clock::time_point deadline,
                                                     std::uint16_t port) {
    const auto executor = co_await asio::this_coro::executor;
    HostScan scan(address.to_string(), std::move(protocols));
    asio::ip::udp::socket socket(executor);
    std::error_code error;
    socket.open(address.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), error);
    if (!error) {
        socket.connect({address, port}, error);
    }
    if (!error) {
        socket.non_blocking(true, error);
    }
    if (error) {
        spdlog::warn("unicast scan of {}: {}", address.to_string(), error.message());
        co_return std::vector<DeviceConfig>{};
    }
    std::vector<std::uint8_t> buffer(65536);
    while (!scan.done(steady_clock::now()) && steady_clock::now() < deadline) {
        for (const Bytes& message : scan.messages_to_send()) {
            socket.send(asio::buffer(message), 0, error);  // a lost query is resent next round
        }
        const auto round_end = std::min(deadline, steady_clock::now() + std::chrono::seconds(1));
        while (!scan.done(steady_clock::now()) && steady_clock::now() < round_end) {
            const auto quiet = scan.quiet_deadline();
            const auto wait_end = quiet ? std::min(round_end, *quiet) : round_end;
            if (const auto size = co_await receive_until(socket, buffer, wait_end)) {
                scan.on_datagram(ByteView(buffer.data(), *size));
            }
        }
    }
    co_return scan.devices();
}

struct KnockState {
    explicit KnockState(const asio::any_io_executor& executor) : executor(executor) {}
    asio::any_io_executor executor;
    std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets;
    bool unreachable = false;
};

asio::awaitable<void> knock_port(std::shared_ptr<KnockState> state,
                                 std::shared_ptr<asio::ip::tcp::socket> socket,
                                 asio::ip::tcp::endpoint endpoint,
                                 std::chrono::milliseconds timeout) {
    asio::steady_timer timer(state->executor, timeout);
    timer.async_wait([socket](std::error_code error) {
        if (!error) {
            socket->close();
        }
    });
    auto [error] = co_await socket->async_connect(endpoint, use_tuple);
    timer.cancel();
    if (!error) {
        asio::steady_timer pause(state->executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
    } else if (error == asio::error::host_unreachable ||
               error == std::error_code(EHOSTDOWN, std::system_category())) {
        if (!state->unreachable) {
            state->unreachable = true;
            for (const auto& other : state->sockets) {
                std::error_code ignored;
                other->close(ignored);
            }
        }
    }
    std::error_code ignored;
    socket->close(ignored);
}

}  // namespace

asio::awaitable<void> knock(asio::ip::address address, std::chrono::milliseconds timeout) {
    const auto executor = co_await asio::this_coro::executor;
    const auto connect_timeout =
        std::max(timeout - std::chrono::milliseconds(200), std::chrono::milliseconds(50));
    auto state = std::make_shared<KnockState>(executor);
    for (std::size_t i = 0; i < knock_ports.size(); ++i) {
        state->sockets.push_back(std::make_shared<asio::ip::tcp::socket>(executor));
    }
    for (std::size_t i = 0; i < knock_ports.size(); ++i) {
        asio::co_spawn(
            executor,
            knock_port(state, state->sockets[i], {address, knock_ports[i]}, connect_timeout),
            asio::detached);
    }
    co_return;
}

}  // namespace atv::discovery

namespace atv {

asio::awaitable<std::vector<DeviceConfig>> unicast_scan(std::vector<std::string> hosts,
                                                        std::set<Protocol> protocols,
                                                        std::chrono::milliseconds timeout,
                                                        std::uint16_t port) {
    std::vector<asio::ip::address> addresses;
    for (const std::string& host : hosts) {
        std::error_code error;
        addresses.push_back(asio::ip::make_address(host, error));
        if (error) {
            throw Error(
                ErrorKind::invalid_arguments,
                "'" + host + "' is not an IP address; give hosts as IPv4 or IPv6 addresses");
        }
    }
    const auto executor = co_await asio::this_coro::executor;
    const auto deadline = std::chrono::steady_clock::now() + timeout;

    struct Gather {
        explicit Gather(const asio::any_io_executor& executor, std::size_t count)
            : results(count), pending(count), finished(executor) {}
        std::vector<std::vector<DeviceConfig>> results;
        std::size_t pending;
        asio::steady_timer finished;
    };
    auto gather = std::make_shared<Gather>(executor, addresses.size());
    gather->finished.expires_at(deadline + std::chrono::seconds(2));
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        asio::co_spawn(executor, discovery::knock(addresses[i], timeout), asio::detached);
        asio::co_spawn(executor, discovery::scan_host(addresses[i], protocols, deadline, port),
                       [gather, i](std::exception_ptr failure, std::vector<DeviceConfig> found) {
                           if (!failure) {
                               gather->results[i] = std::move(found);
                           }
                           if (--gather->pending == 0) {
                               gather->finished.cancel();
                           }
                       });
    }
    if (gather->pending > 0) {
        co_await gather->finished.async_wait(discovery::use_tuple);
    }
    std::vector<DeviceConfig> devices;
    for (auto& found : gather->results) {
        for (DeviceConfig& device : found) {
            devices.push_back(std::move(device));
        }
    }
    co_return devices;
}

}  // namespace atv
