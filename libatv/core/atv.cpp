// The entry points of atv/atv.hpp: which protocol code pairs and connects what.
#include "atv/atv.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
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

// Runs `connecting`; on failure closes what is connected already, then rethrows.
asio::awaitable<void> add_connection(
    std::vector<std::unique_ptr<ProtocolConnection>>& connections,
    asio::awaitable<std::unique_ptr<ProtocolConnection>> connecting) {
    std::exception_ptr failure;
    try {
        connections.push_back(co_await std::move(connecting));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        for (auto& connection : connections)
            co_await connection->close();
        std::rethrow_exception(failure);
    }
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

DeviceConnection::DeviceConnection(std::vector<std::unique_ptr<ProtocolConnection>> connections)
    : connections_(std::move(connections)) {
    for (auto& connection : connections_) {
        connection->on_lost([this](const std::string& reason) {
            if (!closed_ && on_lost_) {
                auto callback = std::exchange(on_lost_, nullptr);
                callback(reason);
            }
        });
    }
}

DeviceConnection::~DeviceConnection() = default;

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

asio::awaitable<void> DeviceConnection::close() {
    closed_ = true;
    on_lost_ = nullptr;
    for (auto& connection : connections_) {
        co_await connection->close();
    }
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
    std::vector<std::unique_ptr<ProtocolConnection>> connections;
    if (mrp_usable(device, credentials)) {
        const ServiceConfig& service = *device.service(Protocol::mrp);
        const auto hap_credentials = hap::HapCredentials::parse(credentials.at(Protocol::mrp));
        connections.push_back(co_await mrp::connect_mrp(executor, device.address, service.port,
                                                        hap_credentials, timeout));
    } else if (const TunnelAccess access = tunnel_access(device, credentials);
               access != TunnelAccess::none) {
        const ServiceConfig& service = *device.service(Protocol::airplay);
        std::optional<hap::HapCredentials> hap_credentials;
        if (access == TunnelAccess::credentials) {
            hap_credentials = hap::HapCredentials::parse(credentials.at(Protocol::airplay));
        }
        // Named, then awaited: GCC 12 destroys temporaries of a co_await expression twice.
        const airplay::TunnelOptions options;
        auto connecting = airplay::connect_tunnel(executor, device.address, service.port,
                                                  std::move(hap_credentials), timeout, options);
        connections.push_back(co_await std::move(connecting));
    }
    if (companion_usable(device, credentials)) {
        const ServiceConfig& service = *device.service(Protocol::companion);
        const auto hap_credentials =
            hap::HapCredentials::parse(credentials.at(Protocol::companion));
        auto connecting = companion::connect_companion(
            executor, device.address, service.port, hap_credentials, timeout,
            companion::remote_id_for(identity.client_id, identity.seed.view()));
        co_await add_connection(connections, std::move(connecting));
    }
    if (const auto login = dmap_credentials(device, credentials)) {
        const ServiceConfig& service = *device.service(Protocol::dmap);
        auto connecting =
            dmap::connect_dmap(executor, device.address, service.port, *login, timeout);
        co_await add_connection(connections, std::move(connecting));
    }
    if (connections.empty() && raop_only(device)) {
        const ServiceConfig& service = *device.service(Protocol::raop);
        auto connecting =
            raop::connect_raop(executor, device.address, service.port, service.properties, timeout);
        co_await add_connection(connections, std::move(connecting));
    }
    if (connections.empty()) {
        const ServiceConfig* mrp_service = device.service(Protocol::mrp);
        if (mrp_service != nullptr && mrp_service->enabled) {
            throw Error(ErrorKind::authentication_failed,
                        "the device is not paired; pair mrp first (Device1.Pair)");
        }
        const ServiceConfig* dmap_service = device.service(Protocol::dmap);
        if (dmap_service != nullptr && dmap_service->enabled) {
            throw Error(ErrorKind::authentication_failed,
                        "the device is not paired; pair dmap first (Device1.Pair)");
        }
        if (device.service(Protocol::airplay) != nullptr) {
            throw Error(ErrorKind::authentication_failed,
                        "the device is not paired; pair airplay first (Device1.Pair)");
        }
        throw Error(ErrorKind::not_supported,
                    "no protocol this build can connect with is offered and paired (it can "
                    "connect: mrp, companion, airplay, dmap, and raop on speakers)");
    }
    co_return std::make_unique<DeviceConnection>(std::move(connections));
}

}  // namespace atv
