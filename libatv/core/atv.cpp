// The entry points of atv/atv.hpp: which protocol code pairs and connects what.
#include "atv/atv.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <optional>

#include "airplay/features.hpp"
#include "airplay/legacy.hpp"
#include "airplay/pairing.hpp"
#include "airplay/tunnel.hpp"
#include "atv/discovery.hpp"
#include "atv/error.hpp"
#include "companion/connection.hpp"
#include "companion/pairing.hpp"
#include "core/control_facade.hpp"
#include "discovery/unicast_scan.hpp"
#include "dmap/connection.hpp"
#include "dmap/pairing.hpp"
#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "mrp/connection.hpp"
#include "mrp/pairing.hpp"
#include "raop/connection.hpp"

namespace atv {

namespace {

hap::ClientIdentity client_identity(const Identity& identity) {
    return hap::ClientIdentity{identity.client_id,
                               hap::Ed25519KeyPair::from_seed(identity.seed.view())};
}

const ServiceConfig& require_service(const DeviceConfig& device, Protocol protocol) {
    const ServiceConfig* service = device.service(protocol);
    if (service == nullptr) {
        throw Error(ErrorKind::no_service,
                    "the device has no " + std::string(to_string(protocol)) + " service");
    }
    return *service;
}

bool pairing_possible(const ServiceConfig& service) {
    return service.pairing != PairingRequirement::unsupported &&
           service.pairing != PairingRequirement::disabled;
}

// MRP is used when it is enabled (tvOS 14 and older) and paired.
bool mrp_usable(const DeviceConfig& device, const CredentialsMap& credentials) {
    const ServiceConfig* service = device.service(Protocol::mrp);
    return service != nullptr && service->enabled && credentials.contains(Protocol::mrp);
}

// How MRP runs through AirPlay 2 when the device has no usable MRP service (tvOS 15 and later):
// with stored HAP credentials, or transient pairing where the receiver allows it (HomePods).
enum class TunnelAccess : std::uint8_t { none, credentials, transient };

TunnelAccess tunnel_access(const DeviceConfig& device, const CredentialsMap& credentials) {
    const ServiceConfig* service = device.service(Protocol::airplay);
    if (service == nullptr || !service->enabled)
        return TunnelAccess::none;
    const auto stored = credentials.find(Protocol::airplay);
    if (stored != credentials.end()) {
        return hap::credentials_type(stored->second) == hap::CredentialsType::hap
                   ? TunnelAccess::credentials
                   : TunnelAccess::none;
    }
    const auto model = service->properties.find("model");
    const bool speaker =
        model != service->properties.end() && model->second.starts_with("AudioAccessory");
    return speaker && airplay::supports_transient_pairing(airplay::features_of(service->properties))
               ? TunnelAccess::transient
               : TunnelAccess::none;
}

// Companion is used whenever its service is enabled and paired, alongside MRP.
bool companion_usable(const DeviceConfig& device, const CredentialsMap& credentials) {
    const ServiceConfig* service = device.service(Protocol::companion);
    return service != nullptr && service->enabled && credentials.contains(Protocol::companion);
}

// DMAP logs in with stored credentials or, for Home Sharing, with the announced hG.
std::optional<std::string> dmap_credentials(const DeviceConfig& device,
                                            const CredentialsMap& credentials) {
    const ServiceConfig* service = device.service(Protocol::dmap);
    if (service == nullptr || !service->enabled) {
        return std::nullopt;
    }
    if (const auto stored = credentials.find(Protocol::dmap); stored != credentials.end()) {
        return stored->second;
    }
    if (const auto home_sharing = get_property(service->properties, "hG")) {
        return std::string(*home_sharing);
    }
    return std::nullopt;
}

// RAOP alone carries no remote control: it is connected only on a device offering nothing
// else this build connects (a speaker such as an AirPort Express or shairport-sync).
bool raop_only(const DeviceConfig& device) {
    const ServiceConfig* service = device.service(Protocol::raop);
    if (service == nullptr || !service->enabled ||
        service->pairing == PairingRequirement::disabled ||
        service->pairing == PairingRequirement::unsupported) {
        return false;
    }
    return std::none_of(
        device.services.begin(), device.services.end(), [](const ServiceConfig& other) {
            return other.enabled &&
                   (other.protocol == Protocol::mrp || other.protocol == Protocol::companion ||
                    other.protocol == Protocol::dmap);
        });
}

// The io_context behind an executor: Avahi's poll adapter needs the context itself.
asio::io_context& io_context_of(const asio::any_io_executor& executor) {
    const auto* inner = executor.target<asio::io_context::executor_type>();
    if (inner == nullptr) {
        throw Error(ErrorKind::not_supported, "DMAP pairing needs an io_context executor");
    }
    return inner->context();
}

// One protocol a connect will try, and how.
struct Attempt {
    Protocol protocol;
    std::function<asio::awaitable<std::unique_ptr<ProtocolConnection>>()> connect;
};

// What each protocol the device offers needs to connect, for those it has: MRP directly or
// through the AirPlay 2 tunnel, Companion, DMAP; RAOP only on a speaker offering nothing else.
std::vector<Attempt> plan_attempts(const asio::any_io_executor& executor,
                                   const DeviceConfig& device, const CredentialsMap& credentials,
                                   const Identity& identity, std::chrono::milliseconds timeout) {
    std::vector<Attempt> attempts;
    const std::string& address = device.address;
    if (mrp_usable(device, credentials)) {
        const std::uint16_t port = device.service(Protocol::mrp)->port;
        auto secret = hap::HapCredentials::parse(credentials.at(Protocol::mrp));
        attempts.push_back({Protocol::mrp, [=] {
                                return mrp::connect_mrp(executor, address, port, secret, timeout);
                            }});
    } else if (const TunnelAccess access = tunnel_access(device, credentials);
               access != TunnelAccess::none) {
        const std::uint16_t port = device.service(Protocol::airplay)->port;
        std::optional<hap::HapCredentials> secret;
        if (access == TunnelAccess::credentials) {
            secret = hap::HapCredentials::parse(credentials.at(Protocol::airplay));
        }
        // A coroutine lambda is safe here: the attempt, and so the lambda, outlives the run.
        attempts.push_back(
            {Protocol::airplay, [=]() -> asio::awaitable<std::unique_ptr<ProtocolConnection>> {
                 // Named, then awaited: GCC 12 destroys temporaries of a co_await expression
                 // twice.
                 const airplay::TunnelOptions options;
                 auto connecting =
                     airplay::connect_tunnel(executor, address, port, secret, timeout, options);
                 co_return co_await std::move(connecting);
             }});
    }
    if (companion_usable(device, credentials)) {
        const std::uint16_t port = device.service(Protocol::companion)->port;
        auto secret = hap::HapCredentials::parse(credentials.at(Protocol::companion));
        auto remote_id = companion::remote_id_for(identity.client_id, identity.seed.view());
        attempts.push_back({Protocol::companion, [=] {
                                return companion::connect_companion(executor, address, port, secret,
                                                                    timeout, remote_id);
                            }});
    }
    if (const auto login = dmap_credentials(device, credentials)) {
        const std::uint16_t port = device.service(Protocol::dmap)->port;
        attempts.push_back({Protocol::dmap, [=, login = *login] {
                                return dmap::connect_dmap(executor, address, port, login, timeout);
                            }});
    }
    if (attempts.empty() && raop_only(device)) {
        const ServiceConfig& service = *device.service(Protocol::raop);
        const std::uint16_t port = service.port;
        auto properties = service.properties;
        attempts.push_back(
            {Protocol::raop,
             [=] { return raop::connect_raop(executor, address, port, properties, timeout); }});
    }
    return attempts;
}

ConnectFailure failure_of(Protocol protocol, const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Error& known) {
        return {protocol, known.kind(), known.what(), known.retry_after()};
    } catch (const std::exception& other) {
        return {protocol, ErrorKind::connection_failed, other.what()};
    }
}

// The outcome of each attempt, in the order of the attempts.
struct Outcomes {
    std::vector<std::unique_ptr<ProtocolConnection>> connections;
    std::vector<ConnectFailure> failures;
};

// Runs every attempt at once, so that a protocol that is slow to fail does not hold up the
// others, and waits for all of them.
asio::awaitable<Outcomes> run_attempts(std::vector<Attempt> attempts) {
    struct Shared {
        std::vector<std::unique_ptr<ProtocolConnection>> connections;
        std::vector<std::optional<ConnectFailure>> failures;
        std::size_t pending;
        asio::steady_timer all_done;
    };
    auto executor = co_await asio::this_coro::executor;
    auto shared = std::make_shared<Shared>(
        Shared{{},
               {},
               attempts.size(),
               asio::steady_timer(executor, asio::steady_timer::time_point::max())});
    shared->connections.resize(attempts.size());
    shared->failures.resize(attempts.size());
    for (std::size_t i = 0; i < attempts.size(); ++i) {
        asio::co_spawn(
            executor, attempts[i].connect(),
            [shared, i, protocol = attempts[i].protocol](
                std::exception_ptr error, std::unique_ptr<ProtocolConnection> connection) {
                if (error) {
                    shared->failures[i] = failure_of(protocol, error);
                } else {
                    shared->connections[i] = std::move(connection);
                }
                if (--shared->pending == 0) {
                    shared->all_done.cancel();
                }
            });
    }
    if (shared->pending > 0) {
        std::error_code cancelled;
        co_await shared->all_done.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
    }
    Outcomes outcomes;
    for (std::size_t i = 0; i < attempts.size(); ++i) {
        if (shared->connections[i]) {
            outcomes.connections.push_back(std::move(shared->connections[i]));
        } else if (shared->failures[i]) {
            outcomes.failures.push_back(std::move(*shared->failures[i]));
        }
    }
    co_return outcomes;
}

// How much an error tells a person about what to do: a rejected pairing first, a refused or
// silent device last.
int telling_rank(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::authentication_failed:
            return 0;
        case ErrorKind::back_off:
            return 1;
        case ErrorKind::timeout:
            return 2;
        case ErrorKind::connection_failed:
            return 3;
        case ErrorKind::connection_lost:
            return 4;
        default:
            return 5;
    }
}

// The error of a connect that connected nothing: the most telling failure, naming the others.
Error most_telling(const std::vector<ConnectFailure>& failures) {
    const auto best = std::min_element(failures.begin(), failures.end(),
                                       [](const ConnectFailure& a, const ConnectFailure& b) {
                                           return telling_rank(a.kind) < telling_rank(b.kind);
                                       });
    std::string message = best->message;
    for (const ConnectFailure& other : failures) {
        if (&other != &*best) {
            message += "; " + std::string(to_string(other.protocol)) + ": " + other.message;
        }
    }
    return Error(best->kind, message, best->retry_after);
}

// The error of a device with nothing to connect with: what to pair first.
[[noreturn]] void throw_nothing_to_connect(const DeviceConfig& device) {
    for (Protocol protocol : {Protocol::mrp, Protocol::dmap}) {
        const ServiceConfig* service = device.service(protocol);
        if (service != nullptr && service->enabled) {
            throw Error(ErrorKind::authentication_failed, "the device is not paired; pair " +
                                                              std::string(to_string(protocol)) +
                                                              " first (Device1.Pair)");
        }
    }
    if (device.service(Protocol::airplay) != nullptr) {
        throw Error(ErrorKind::authentication_failed,
                    "the device is not paired; pair airplay first (Device1.Pair)");
    }
    throw Error(ErrorKind::not_supported,
                "no protocol this build can connect with is offered and paired (it can "
                "connect: mrp, companion, airplay, dmap, and raop on speakers)");
}

}  // namespace

std::vector<Protocol> supported_protocols() {
    return {Protocol::mrp, Protocol::companion, Protocol::airplay, Protocol::dmap, Protocol::raop};
}

void validate_credentials(Protocol protocol, std::string_view credentials) {
    switch (protocol) {
        case Protocol::mrp:
        case Protocol::companion:
            hap::HapCredentials::parse(credentials);
            return;
        case Protocol::airplay:
        case Protocol::raop:
            if (hap::credentials_type(credentials) == hap::CredentialsType::none) {
                throw Error(ErrorKind::invalid_arguments,
                            "empty credentials; AirPlay credentials are HAP, legacy or transient");
            }
            return;
        case Protocol::dmap:
            dmap::validate_credentials(credentials);
            return;
    }
}

std::unique_ptr<PairingHandler> pair(asio::any_io_executor executor, const DeviceConfig& device,
                                     Protocol protocol, const PairingOptions& options,
                                     const Identity& identity) {
    const ServiceConfig& service = require_service(device, protocol);
    if (!pairing_possible(service)) {
        throw Error(ErrorKind::not_supported, "pairing " + std::string(to_string(protocol)) +
                                                  " is " + std::string(to_string(service.pairing)) +
                                                  " on this device");
    }
    switch (protocol) {
        case Protocol::mrp:
            return std::make_unique<mrp::MrpPairingHandler>(std::move(executor), device.address,
                                                            service.port, client_identity(identity),
                                                            options);
        case Protocol::companion:
            return std::make_unique<companion::CompanionPairingHandler>(
                std::move(executor), device.address, service.port, client_identity(identity),
                options);
        case Protocol::airplay:
            if (service.requires_password) {
                throw Error(ErrorKind::not_supported,
                            "this AirPlay receiver is protected by a password, which atvd cannot "
                            "pair with; turn the password off in the receiver's AirPlay settings");
            }
            // AirPlay 2 receivers pair with HAP, older ones with legacy pairing.
            if (!airplay::uses_hap_pairing(airplay::features_of(service.properties))) {
                return std::make_unique<airplay::legacy::LegacyPairingHandler>(
                    std::move(executor), device.address, service.port);
            }
            return std::make_unique<airplay::AirPlayPairingHandler>(
                std::move(executor), device.address, service.port, client_identity(identity),
                options);
        case Protocol::dmap:
            return std::make_unique<dmap::DmapPairingHandler>(io_context_of(executor), options,
                                                              options.timeout);
        default:
            throw Error(ErrorKind::not_supported,
                        "this build of atvd cannot pair " + std::string(to_string(protocol)) +
                            " yet (it can pair: mrp, companion, airplay, dmap)");
    }
}

DeviceConnection::DeviceConnection(std::vector<std::unique_ptr<ProtocolConnection>> connections,
                                   std::vector<ConnectFailure> failures)
    : connections_(std::move(connections)),
      failures_(std::move(failures)),
      control_(std::make_unique<ControlFacade>()) {
    for (auto& connection : connections_) {
        watch(*connection);
    }
}

Control& DeviceConnection::control() {
    return *control_;
}

DeviceConnection::~DeviceConnection() = default;

// Follows the connection's loss, and offers what it can control through the facade.
void DeviceConnection::watch(ProtocolConnection& connection) {
    if (Control* control = connection.control()) {
        control_->add(connection.protocol(), *control);
    }
    connection.on_lost(
        [this, &connection](const std::string& reason) { connection_lost(connection, reason); });
}

// One protocol dropping leaves the others connected; the last one dropping loses the device.
void DeviceConnection::connection_lost(ProtocolConnection& connection, const std::string& reason) {
    if (closed_) {
        return;
    }
    if (connections_.size() <= 1) {
        if (on_lost_) {
            std::exchange(on_lost_, nullptr)(reason);
        }
        return;
    }
    const auto found =
        std::find_if(connections_.begin(), connections_.end(),
                     [&](const auto& candidate) { return candidate.get() == &connection; });
    if (found == connections_.end()) {
        return;
    }
    if (Control* control = connection.control()) {
        control_->remove(*control);
    }
    // Called from the connection's own code: it is closed with the rest, not destroyed now.
    dropped_.push_back(std::move(*found));
    connections_.erase(found);
    ConnectFailure lost{connection.protocol(), ErrorKind::connection_lost, reason, std::nullopt};
    failures_.push_back(lost);
    if (on_protocol_lost_) {
        on_protocol_lost_(lost);
    }
}

std::vector<Protocol> DeviceConnection::protocols() const {
    std::vector<Protocol> protocols;
    for (const auto& connection : connections_) {
        protocols.push_back(connection->protocol());
    }
    return protocols;
}

void DeviceConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    on_lost_ = std::move(callback);
}

void DeviceConnection::on_protocol_lost(std::function<void(const ConnectFailure& lost)> callback) {
    on_protocol_lost_ = std::move(callback);
}

void DeviceConnection::absorb(DeviceConnection&& more) {
    for (auto& connection : more.connections_) {
        watch(*connection);
        connections_.push_back(std::move(connection));
    }
    more.connections_.clear();
    failures_ = std::move(more.failures_);
}

asio::awaitable<void> DeviceConnection::close() {
    closed_ = true;
    on_lost_ = nullptr;
    on_protocol_lost_ = nullptr;
    for (auto& connection : connections_) {
        co_await connection->close();
    }
    for (auto& connection : dropped_) {
        co_await connection->close();
    }
}

asio::awaitable<void> wake(const DeviceConfig& device, std::chrono::milliseconds timeout) {
    std::error_code invalid;
    const asio::ip::address address = asio::ip::make_address(device.address, invalid);
    if (invalid) {
        throw Error(ErrorKind::connection_failed,
                    "the device has no address to wake it at; scan for it again");
    }
    auto knocking = discovery::knock(address, timeout);
    co_await std::move(knocking);
}

asio::awaitable<std::unique_ptr<DeviceConnection>> connect(const DeviceConfig& device,
                                                           const CredentialsMap& credentials,
                                                           const Identity& identity,
                                                           std::chrono::milliseconds timeout) {
    if (device.services.empty()) {
        throw Error(ErrorKind::no_service, "the device has no services to connect to");
    }
    if (!device.identifier()) {
        throw Error(ErrorKind::device_id_missing, "the device has no identifier");
    }
    auto executor = co_await asio::this_coro::executor;
    auto attempts = plan_attempts(executor, device, credentials, identity, timeout);
    if (attempts.empty()) {
        throw_nothing_to_connect(device);
    }
    Outcomes outcomes = co_await run_attempts(std::move(attempts));
    if (outcomes.connections.empty()) {
        throw most_telling(outcomes.failures);
    }
    co_return std::make_unique<DeviceConnection>(std::move(outcomes.connections),
                                                 std::move(outcomes.failures));
}

asio::awaitable<std::unique_ptr<DeviceConnection>> connect_missing(
    const DeviceConfig& device, const CredentialsMap& credentials, const Identity& identity,
    std::chrono::milliseconds timeout, const std::vector<Protocol>& connected) {
    auto executor = co_await asio::this_coro::executor;
    std::vector<Attempt> attempts;
    for (Attempt& attempt : plan_attempts(executor, device, credentials, identity, timeout)) {
        if (std::find(connected.begin(), connected.end(), attempt.protocol) == connected.end()) {
            attempts.push_back(std::move(attempt));
        }
    }
    Outcomes outcomes = co_await run_attempts(std::move(attempts));
    co_return std::make_unique<DeviceConnection>(std::move(outcomes.connections),
                                                 std::move(outcomes.failures));
}

}  // namespace atv
