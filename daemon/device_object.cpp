#include "device_object.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <chrono>

#include "arguments.hpp"
#include "bus_errors.hpp"
#include "logging.hpp"
#include "properties.hpp"

namespace atvd {

namespace {

std::uint64_t now_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace

DeviceObject::DeviceObject(Context& context, DeviceOwner& owner, std::string path,
                           std::string device_id, Origin origin)
    : AdaptorInterfaces(context.bus, path),
      context_(context),
      owner_(owner),
      path_(std::move(path)),
      device_id_(std::move(device_id)),
      origin_(origin),
      identifiers_{device_id_},
      expiry_timer_(context.io),
      presence_([this] { unregisterAdaptor(); }) {
    registerAdaptor();
    emit_signal(context_.loop, [this] {
        emitInterfacesAddedSignal({org::atvd::Device1_adaptor::INTERFACE_NAME});
    });
}

DeviceObject::~DeviceObject() {
    retire();
}

void DeviceObject::retire() {
    if (!registered_) {
        return;
    }
    registered_ = false;
    expiry_timer_.cancel();
    for (auto& [protocol, pairing] : pairings_) {
        pairing->withdraw();
    }
    pairings_.clear();
    services_.clear();
    emit_signal(context_.loop, [this] {
        emitInterfacesRemovedSignal({org::atvd::Device1_adaptor::INTERFACE_NAME});
    });
    presence_.leave();
}

ReplyOwner DeviceObject::reply_owner() {
    return {shared_from_this(), &presence_};
}

void DeviceObject::require_listed() const {
    if (!registered_) {
        throw sdbus::Error("org.freedesktop.DBus.Error.UnknownObject",
                           "the device " + device_id_ + " was removed");
    }
}

void DeviceObject::configure(const atv::DeviceConfig& config) {
    apply(config);
}

bool DeviceObject::answers_to(const std::vector<std::string>& identifiers) const {
    return std::any_of(identifiers.begin(), identifiers.end(), [this](const std::string& id) {
        return std::find(identifiers_.begin(), identifiers_.end(), id) != identifiers_.end();
    });
}

bool DeviceObject::offers_any(const std::set<atv::Protocol>& protocols) const {
    return std::any_of(config_.services.begin(), config_.services.end(),
                       [&](const atv::ServiceConfig& s) { return protocols.contains(s.protocol); });
}

void DeviceObject::seen(const atv::DeviceConfig& config,
                        std::optional<std::uint64_t> discovery_key) {
    if (discovery_key) {
        discovery_keys_.insert(*discovery_key);
    }
    atv::DeviceConfig merged = config;
    if (!discovery_key || origin_ == Origin::manual) {
        // A unicast scan may be restricted to some protocols: keep the services it did not ask.
        for (const atv::ServiceConfig& known : config_.services) {
            if (merged.service(known.protocol) == nullptr) {
                merged.services.push_back(known);
            }
        }
    }
    const std::uint64_t previous_seen = last_seen_us_;
    last_seen_us_ = now_us();
    apply(merged);
    if (previous_seen != last_seen_us_) {
        ChangedProperties changed;
        changed.add("LastSeen");
        changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    }
    set_present(true);
    expiry_timer_.cancel();
}

void DeviceObject::lost(std::uint64_t discovery_key) {
    discovery_keys_.erase(discovery_key);
    if (discovery_keys_.empty()) {
        lost_all();
    }
}

void DeviceObject::lost_all() {
    discovery_keys_.clear();
    if (origin_ == Origin::manual && connection_ != nullptr) {
        return;
    }
    set_present(false);
    schedule_expiry();
}

void DeviceObject::restore(const atv::StoredDevice& stored) {
    add_identifiers(stored.identifiers);
    credentials_ = stored.credentials;
    if (config_.name.empty() && !stored.name.empty()) {
        config_.name = stored.name;
    }
    sync_services();
}

void DeviceObject::schedule_expiry() {
    if (origin_ == Origin::manual || paired()) {
        return;
    }
    expiry_timer_.expires_after(context_.settings.vanish_grace);
    expiry_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && !self->present_ && !self->paired() && self->connection_ == nullptr &&
            self->pairings_.empty()) {
            self->owner_.device_expired(*self);
        }
    });
}

void DeviceObject::apply(const atv::DeviceConfig& config) {
    ChangedProperties changed;
    changed.note("Name", config_.name, config.name);
    changed.note("Address", config_.address, config.address);
    changed.note("MacAddress", config_.info.mac_address, config.info.mac_address);
    changed.note("Model", config_.info.model, config.info.model);
    changed.note("ModelIdentifier", config_.info.model_identifier, config.info.model_identifier);
    changed.note("OperatingSystem", config_.info.os, config.info.os);
    changed.note("Version", config_.info.version, config.info.version);
    changed.note("BuildNumber", config_.info.build_number, config.info.build_number);
    changed.note("DeepSleep", config_.deep_sleep, config.deep_sleep);
    const auto identifiers_before = identifiers_;
    const auto protocols_before = offered_protocols();
    const auto model_before = config_.info.model;
    config_ = config;
    add_identifiers(config_.all_identifiers());
    changed.note("Identifiers", identifiers_before, identifiers_);
    sync_services();
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    if (present_ &&
        (protocols_before != offered_protocols() || model_before != config_.info.model)) {
        log_listing('~');
    }
}

void DeviceObject::add_identifiers(const std::vector<std::string>& identifiers) {
    for (const std::string& id : identifiers) {
        if (!id.empty() &&
            std::find(identifiers_.begin(), identifiers_.end(), id) == identifiers_.end()) {
            identifiers_.push_back(id);
        }
    }
}

void DeviceObject::sync_services() {
    for (auto it = services_.begin(); it != services_.end();) {
        if (config_.service(it->first) == nullptr) {
            it = services_.erase(it);
        } else {
            ++it;
        }
    }
    for (const atv::ServiceConfig& service : config_.services) {
        const bool paired = credentials_.contains(service.protocol);
        auto found = services_.find(service.protocol);
        if (found == services_.end()) {
            const std::string path = path_ + "/" + std::string(atv::to_string(service.protocol));
            services_.emplace(service.protocol,
                              std::make_unique<ServiceObject>(context_.loop, context_.bus, path,
                                                              service, paired));
        } else {
            found->second->update(service, paired);
        }
    }
}

std::vector<std::string_view> DeviceObject::offered_protocols() const {
    std::vector<std::string_view> protocols;
    for (const atv::ServiceConfig& service : config_.services) {
        protocols.push_back(atv::to_string(service.protocol));
    }
    return protocols;
}

// The line a person watching the log sees for a device: '+' when it appears, '~' when what it
// offers changes (a service that joins later, the model its next service tells).
void DeviceObject::log_listing(char sign) const {
    LogFields fields{device_id_, offered_protocols()};
    log_about(spdlog::level::info, fields, "{} {} ({}) at {} [{}] {}", sign, config_.name,
              atv::to_string(config_.info.model), config_.address, fmt::join(fields.protocols, " "),
              path_);
}

void DeviceObject::set_present(bool present) {
    if (present_ == present) {
        return;
    }
    present_ = present;
    ChangedProperties changed;
    changed.add("Present");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    if (present) {
        log_listing('+');
    } else {
        log_about(spdlog::level::info, {device_id_, {}}, "- {} left the network {}", config_.name,
                  path_);
    }
}

atv::Protocol DeviceObject::parse_protocol(const std::string& name) const {
    return protocol_argument(name);
}

void DeviceObject::Pair(sdbus::Result<sdbus::ObjectPath>&& result, std::string protocol_name,
                        std::map<std::string, sdbus::Variant> options) {
    guarded([&] {
        require_listed();
        const Caller caller = current_caller(getObject());
        context_.authorization.require_admin(caller, "Pair");
        const atv::Protocol protocol = parse_protocol(protocol_name);
        const PairOptions parsed = parse_pair_options(options);
        const atv::ServiceConfig* service = config_.service(protocol);
        if (service == nullptr) {
            throw bus_error(atv::ErrorKind::no_service,
                            "the device has no " + protocol_name + " service");
        }
        if (service->pairing == atv::PairingRequirement::unsupported ||
            service->pairing == atv::PairingRequirement::disabled) {
            throw bus_error(atv::ErrorKind::not_supported,
                            "pairing " + protocol_name + " is " +
                                std::string(atv::to_string(service->pairing)) +
                                " on this device (its access settings or model do not allow it)");
        }
        if (pairings_.contains(protocol)) {
            throw bus_error(
                atv::ErrorKind::in_progress,
                "a " + protocol_name + " pairing handler exists already; Close it first");
        }
        atv::PairingOptions pairing = parsed.pairing;
        pairing.timeout = parsed.timeout.value_or(context_.settings.default_pairing_timeout);
        auto handler =
            atv::pair(context_.io.get_executor(), config_, protocol, pairing, context_.identity);
        const std::string path = path_ + "/" + protocol_name + "/pairing";
        PairingObject::Hooks hooks;
        hooks.store_credentials = [weak = weak_from_this(),
                                   protocol](std::string credentials) -> asio::awaitable<void> {
            auto self = weak.lock();
            if (!self) {
                throw atv::Error(atv::ErrorKind::pairing_failed,
                                 "the device was removed while pairing");
            }
            co_await self->store_credentials(protocol, std::move(credentials));
        };
        hooks.closed = [weak = weak_from_this(), protocol] {
            if (auto self = weak.lock()) {
                self->pairings_.erase(protocol);
            }
        };
        auto object = std::make_shared<PairingObject>(
            context_, path, std::move(handler), caller.uid,
            parsed.timeout.value_or(context_.settings.default_pairing_timeout), std::move(hooks));
        object->start();
        pairings_.emplace(protocol, std::move(object));
        log_about(spdlog::level::info, {device_id_, {protocol_name}},
                  "pairing {} with {} ({}) started", protocol_name, config_.name, device_id_);
        result.returnResults(sdbus::ObjectPath(path));
    });
}

asio::awaitable<void> DeviceObject::store_credentials(atv::Protocol protocol,
                                                      std::string credentials) {
    auto self = shared_from_this();
    atv::CredentialsMap updated = credentials_;
    updated[protocol] = std::move(credentials);
    atv::StoredDevice stored;
    stored.device_id = device_id_;
    stored.identifiers = identifiers_;
    stored.name = config_.name;
    stored.credentials = updated;
    co_await context_.store.save_async(stored);
    credentials_ = std::move(updated);
    sync_services();
    context_.loop.kick();
    log_about(spdlog::level::info, {device_id_, {atv::to_string(protocol)}},
              "credentials for {} of {} ({}) stored", atv::to_string(protocol), config_.name,
              device_id_);
}

void DeviceObject::Connect(sdbus::Result<>&& result) {
    guarded([&] {
        require_listed();
        context_.authorization.require_admin(current_caller(getObject()), "Connect");
        if (connecting_) {
            throw bus_error(atv::ErrorKind::in_progress, "a connection is being set up already");
        }
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this()] { return self->connect(); });
    });
}

asio::awaitable<void> DeviceObject::connect() {
    connecting_ = true;
    struct Done {
        bool& flag;
        ~Done() { flag = false; }
    } done{connecting_};
    if (connection_ != nullptr) {
        co_await retry_failed_protocols();
        co_return;
    }
    auto connection = co_await atv::connect(config_, credentials_, context_.identity,
                                            context_.settings.connect_timeout);
    connection->on_lost([weak = weak_from_this()](const std::string& reason) {
        if (auto self = weak.lock()) {
            self->connection_lost(reason);
        }
    });
    connection->on_protocol_lost([weak = weak_from_this()](const atv::ConnectFailure& lost) {
        if (auto self = weak.lock()) {
            self->protocol_lost(lost);
        }
    });
    connection_ = std::move(connection);
    ChangedProperties changed;
    changed.add("Connected");
    changed.add("ConnectedProtocols");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    control_ =
        std::make_unique<ControlObjects>(context_, getObject(), path_, connection_->control());
    if (origin_ == Origin::manual) {
        set_present(true);
    }
    const std::vector<std::string> protocols = ConnectedProtocols();
    log_about(spdlog::level::info, {device_id_, {protocols.begin(), protocols.end()}},
              "connected to {} ({}) with {}", config_.name, device_id_, fmt::join(protocols, ", "));
    log_connect_failures();
}

asio::awaitable<void> DeviceObject::retry_failed_protocols() {
    if (connection_->failures().empty()) {
        co_return;
    }
    auto self = shared_from_this();
    const std::vector<std::string> before = ConnectedProtocols();
    auto more =
        co_await atv::connect_missing(config_, credentials_, context_.identity,
                                      context_.settings.connect_timeout, connection_->protocols());
    if (connection_ == nullptr) {
        // Closed or lost while connecting: what connected goes too.
        co_await more->close();
        throw atv::Error(atv::ErrorKind::connection_lost,
                         "the connection was closed while connecting");
    }
    connection_->absorb(std::move(*more));
    control_->refresh();
    ChangedProperties changed;
    changed.note("ConnectedProtocols", before, ConnectedProtocols());
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    log_connect_failures();
}

void DeviceObject::log_connect_failures() const {
    for (const atv::ConnectFailure& failure : connection_->failures()) {
        const std::string protocol(atv::to_string(failure.protocol));
        log_about(spdlog::level::warn, {device_id_, {protocol}},
                  "{} of {} ({}) not connected, tried again at the next Connect: {} ({})", protocol,
                  config_.name, device_id_, failure.message, atv::error_name(failure.kind));
    }
}

void DeviceObject::protocol_lost(const atv::ConnectFailure& lost) {
    const std::string protocol(atv::to_string(lost.protocol));
    const std::vector<std::string> remaining = ConnectedProtocols();
    log_about(spdlog::level::warn, {device_id_, {protocol}},
              "{} of {} ({}) lost, still connected with {}: {}", protocol, config_.name, device_id_,
              fmt::join(remaining, ", "), lost.message);
    ChangedProperties changed;
    changed.add("ConnectedProtocols");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    context_.loop.kick();
}

void DeviceObject::connection_lost(const std::string& reason) {
    const std::vector<std::string> protocols = ConnectedProtocols();
    log_about(spdlog::level::warn, {device_id_, {protocols.begin(), protocols.end()}},
              "connection to {} ({}) lost: {}", config_.name, device_id_, reason);
    control_.reset();
    emit_signal(context_.loop, [&] { emitConnectionLost(reason); });
    asio::co_spawn(context_.io, close_connection(), asio::detached);
}

void DeviceObject::Close(sdbus::Result<>&& result) {
    guarded([&] {
        require_listed();
        context_.authorization.require_admin(current_caller(getObject()), "Close");
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this()] { return self->close_connection(); });
    });
}

asio::awaitable<void> DeviceObject::close_connection() {
    auto self = shared_from_this();
    if (connection_ == nullptr) {
        co_return;
    }
    const std::vector<std::string> protocols = ConnectedProtocols();
    control_.reset();
    auto connection = std::move(connection_);
    co_await connection->close();
    ChangedProperties changed;
    changed.add("Connected");
    changed.add("ConnectedProtocols");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    context_.loop.kick();
    if (!present_) {
        schedule_expiry();
    }
    log_about(spdlog::level::info, {device_id_, {protocols.begin(), protocols.end()}},
              "connection to {} ({}) closed", config_.name, device_id_);
}

void DeviceObject::SetCredentials(sdbus::Result<bool>&& result, std::string protocol_name,
                                  std::string credentials) {
    guarded([&] {
        require_listed();
        context_.authorization.require_admin(current_caller(getObject()), "SetCredentials");
        const atv::Protocol protocol = parse_protocol(protocol_name);
        if (config_.service(protocol) == nullptr) {
            result.returnResults(false);
            return;
        }
        atv::validate_credentials(protocol, credentials);
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this(), protocol,
                     credentials = std::move(credentials)]() mutable -> asio::awaitable<bool> {
                        co_await self->store_credentials(protocol, std::move(credentials));
                        co_return true;
                    });
    });
}

asio::awaitable<void> DeviceObject::shut_down() {
    auto self = shared_from_this();
    expiry_timer_.cancel();
    auto pairings = pairings_;
    for (auto& [protocol, pairing] : pairings) {
        co_await pairing->shut_down();
    }
    co_await close_connection();
}

std::string DeviceObject::Model() {
    return std::string(atv::to_string(config_.info.model));
}

std::string DeviceObject::OperatingSystem() {
    return std::string(atv::to_string(config_.info.os));
}

std::vector<std::string> DeviceObject::ConnectedProtocols() {
    std::vector<std::string> names;
    if (connection_ != nullptr) {
        for (atv::Protocol protocol : connection_->protocols()) {
            names.emplace_back(atv::to_string(protocol));
        }
    }
    return names;
}

}  // namespace atvd
