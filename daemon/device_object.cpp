#include "device_object.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <random>

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
      reconnect_delay_(context.settings.reconnect_first, context.settings.reconnect_longest,
                       std::random_device{}()),
      reconnect_timer_(context.io),
      wake_timer_(context.io),
      closed_(context.io),
      expiry_timer_(context.io),
      presence_([this] { unregisterAdaptor(); }) {
    registerAdaptor();
    emit_signal(context_.loop, path_, [this] {
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
    reconnect_timer_.cancel();
    wake_timer_.cancel();
    for (auto& [protocol, pairing] : pairings_) {
        pairing->withdraw();
    }
    pairings_.clear();
    services_.clear();
    emit_signal(context_.loop, path_, [this] {
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
    const bool was_present = present_;
    const bool was_asleep = config_.deep_sleep;
    const std::string previous_address = config_.address;
    std::vector<std::pair<atv::Protocol, std::uint16_t>> previous_ports;
    for (const atv::ServiceConfig& service : config_.services) {
        previous_ports.emplace_back(service.protocol, service.port);
    }
    apply(merged);
    if (previous_seen != last_seen_us_) {
        ChangedProperties changed;
        changed.add("LastSeen");
        changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    }
    set_present(true);
    expiry_timer_.cancel();
    bool moved = config_.address != previous_address;
    for (const atv::ServiceConfig& service : config_.services) {
        const auto before =
            std::find_if(previous_ports.begin(), previous_ports.end(),
                         [&](const auto& p) { return p.first == service.protocol; });
        // A new service, or one on another port, counts as the device coming back.
        moved = moved || before == previous_ports.end() || before->second != service.port;
    }
    if (!was_present || moved || (was_asleep && !config_.deep_sleep)) {
        device_reappeared();
    }
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
    auto_connect_ = stored.auto_connect;
    if (config_.name.empty() && !stored.name.empty()) {
        config_.name = stored.name;
    }
    sync_services();
    // A device added by hand has nobody to announce it: kept connected, it is tried at once.
    connect_if_wanted();
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
    atv::StoredDevice stored = stored_record();
    stored.credentials[protocol] = std::move(credentials);
    co_await context_.store.save_async(stored);
    credentials_ = std::move(stored.credentials);
    if (auto_connect_ != stored.auto_connect) {
        // SetAutoConnect wrote the record meanwhile without these credentials.
        co_await context_.store.save_async(stored_record());
    }
    sync_services();
    context_.loop.kick();
    log_about(spdlog::level::info, {device_id_, {atv::to_string(protocol)}},
              "credentials for {} of {} ({}) stored", atv::to_string(protocol), config_.name,
              device_id_);
    // New credentials are what rejected ones stopped AutoConnect for.
    auto_stopped_ = false;
    connect_if_wanted();
}

asio::awaitable<void> DeviceObject::save_record() {
    auto self = shared_from_this();
    atv::StoredDevice stored = stored_record();
    co_await context_.store.save_async(std::move(stored));
}

atv::StoredDevice DeviceObject::stored_record() const {
    atv::StoredDevice stored;
    stored.device_id = device_id_;
    stored.identifiers = identifiers_;
    stored.name = config_.name;
    stored.credentials = credentials_;
    stored.auto_connect = auto_connect_;
    if (origin_ == Origin::manual) {
        // Discovery may never see it: where it is comes back from the record after a restart.
        stored.address = config_.address;
        for (const atv::ServiceConfig& service : config_.services) {
            stored.services.push_back({.protocol = service.protocol,
                                       .port = service.port,
                                       .identifier = service.identifier,
                                       .properties = service.properties});
        }
    }
    return stored;
}

void DeviceObject::Connect(sdbus::Result<>&& result) {
    guarded([&] {
        require_listed();
        context_.authorization.require_admin(current_caller(getObject()), "Connect");
        if (connecting_) {
            throw bus_error(atv::ErrorKind::in_progress, "a connection is being set up already");
        }
        // An explicit Connect resumes what Close suspended and what rejected credentials stopped.
        auto_suspended_ = false;
        auto_stopped_ = false;
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this()] { return self->connect(); });
    });
}

asio::awaitable<void> DeviceObject::connect() {
    auto self = shared_from_this();
    connecting_ = true;
    struct Done {
        bool& flag;
        ~Done() { flag = false; }
    } done{connecting_};
    reconnect_timer_.cancel();
    if (connection_ != nullptr) {
        co_await retry_failed_protocols();
        co_return;
    }
    set_link_state(LinkState::connecting);
    std::optional<atv::Error> failure;
    try {
        co_await open_connection();
    } catch (const atv::Error& error) {
        failure = error;
    } catch (const std::exception& other) {
        failure = atv::Error(atv::ErrorKind::connection_failed, other.what());
    }
    if (failure) {
        connect_failed(*failure);
        throw *failure;
    }
}

void DeviceObject::connect_failed(const atv::Error& error) {
    set_connection_error(std::string(atv::error_name(error.kind())) + ": " + error.what());
    if (error.kind() == atv::ErrorKind::authentication_failed && auto_connect_ &&
        !auto_suspended_) {
        auto_stopped_ = true;
        log_about(spdlog::level::warn, {device_id_, {}},
                  "{} ({}) rejected the credentials; AutoConnect stops until it is paired again "
                  "or Connect is called",
                  config_.name, device_id_);
    }
    if (keeps_connected()) {
        schedule_reconnect(error.retry_after());
    } else {
        set_link_state(LinkState::disconnected);
    }
}

asio::awaitable<void> DeviceObject::wake_up() {
    log_about(spdlog::level::info, {device_id_, {}}, "waking {} ({}) from deep sleep", config_.name,
              device_id_);
    auto knocking = atv::wake(config_, std::chrono::seconds(2));
    co_await std::move(knocking);
    wake_timer_.expires_after(context_.settings.wake_timeout);
    std::error_code woken;
    co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, woken));
    if (config_.deep_sleep) {
        throw atv::Error(atv::ErrorKind::timeout,
                         "the device did not wake up from deep sleep within " +
                             std::to_string(context_.settings.wake_timeout.count() / 1000) +
                             " s; wake it with its own remote and try again");
    }
}

asio::awaitable<void> DeviceObject::open_connection() {
    const std::uint64_t closes_before = closes_;
    if (config_.deep_sleep) {
        co_await wake_up();
    }
    auto connection = co_await atv::connect(config_, credentials_, context_.identity,
                                            context_.settings.connect_timeout);
    if (closes_ != closes_before || stopping_ || !registered_) {
        co_await connection->close();
        throw atv::Error(atv::ErrorKind::connection_lost,
                         "the connection was closed while it was being set up");
    }
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
    connected_at_ = std::chrono::steady_clock::now();
    set_connection_error({});
    set_link_state(LinkState::connected);
    if (!connection_->failures().empty() && keeps_connected()) {
        schedule_reconnect();
    }
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
    if (!connection_->failures().empty() && keeps_connected()) {
        schedule_reconnect();
    }
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
    if (keeps_connected()) {
        schedule_reconnect();
    }
}

void DeviceObject::connection_lost(const std::string& reason) {
    const std::vector<std::string> protocols = ConnectedProtocols();
    log_about(spdlog::level::warn, {device_id_, {protocols.begin(), protocols.end()}},
              "connection to {} ({}) lost: {}", config_.name, device_id_, reason);
    control_.reset();
    emit_signal(context_.loop, path_, [&] { emitConnectionLost(reason); });
    set_connection_error("ConnectionLost: " + reason);
    if (keeps_connected()) {
        if (std::chrono::steady_clock::now() - connected_at_ >=
            context_.settings.lasting_connection) {
            reconnect_delay_.reset();
        }
        set_link_state(LinkState::reconnecting);
    }
    asio::co_spawn(context_.io, recover_from_loss(), asio::detached);
}

asio::awaitable<void> DeviceObject::recover_from_loss() {
    auto self = shared_from_this();
    co_await close_connection();
    if (keeps_connected() && connection_ == nullptr) {
        schedule_reconnect();
    }
}

void DeviceObject::Close(sdbus::Result<>&& result) {
    guarded([&] {
        require_listed();
        context_.authorization.require_admin(current_caller(getObject()), "Close");
        ++closes_;
        auto_suspended_ = auto_connect_;
        reconnect_timer_.cancel();
        wake_timer_.cancel();
        if (connection_ == nullptr && !connecting_) {
            set_link_state(LinkState::disconnected);
        }
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this()] { return self->close_connection(); });
    });
}

asio::awaitable<void> DeviceObject::close_connection() {
    auto self = shared_from_this();
    if (connection_ == nullptr) {
        if (closing_) {
            std::error_code finished;
            co_await closed_.async_wait(asio::redirect_error(asio::use_awaitable, finished));
        }
        co_return;
    }
    const std::vector<std::string> protocols = ConnectedProtocols();
    control_.reset();
    auto connection = std::move(connection_);
    closing_ = true;
    closed_.expires_at(asio::steady_timer::time_point::max());
    co_await connection->close();
    closing_ = false;
    closed_.cancel();
    ChangedProperties changed;
    changed.add("Connected");
    changed.add("ConnectedProtocols");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    if (link_state_ == LinkState::connected) {
        set_link_state(LinkState::disconnected);
    }
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
    stopping_ = true;
    expiry_timer_.cancel();
    reconnect_timer_.cancel();
    wake_timer_.cancel();
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

std::string DeviceObject::ConnectionState() {
    switch (link_state_) {
        case LinkState::connecting:
            return "connecting";
        case LinkState::connected:
            return "connected";
        case LinkState::reconnecting:
            return "reconnecting";
        case LinkState::disconnected:
            break;
    }
    return "disconnected";
}

void DeviceObject::set_link_state(LinkState state) {
    if (link_state_ == state) {
        return;
    }
    link_state_ = state;
    ChangedProperties changed;
    changed.add("ConnectionState");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
    context_.loop.kick();
}

void DeviceObject::set_connection_error(std::string error) {
    if (connection_error_ == error) {
        return;
    }
    connection_error_ = std::move(error);
    ChangedProperties changed;
    changed.add("ConnectionError");
    changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
}

bool DeviceObject::keeps_connected() const {
    return auto_connect_ && !auto_suspended_ && !auto_stopped_ && !stopping_ && registered_;
}

// What Connect needs: an offered service with credentials, or one that needs none (a
// speaker). Discovery may not have seen the paired service yet.
bool DeviceObject::can_connect() const {
    return std::any_of(config_.services.begin(), config_.services.end(),
                       [this](const atv::ServiceConfig& service) {
                           return credentials_.contains(service.protocol) ||
                                  (service.protocol == atv::Protocol::raop &&
                                   service.pairing == atv::PairingRequirement::not_needed);
                       });
}

void DeviceObject::connect_if_wanted() {
    if (!keeps_connected() || connecting_ || !can_connect() ||
        (!present_ && origin_ != Origin::manual) ||
        std::chrono::steady_clock::now() < backed_off_until_) {
        return;
    }
    if (connection_ != nullptr && connection_->failures().empty()) {
        return;
    }
    reconnect_timer_.cancel();
    asio::co_spawn(context_.io, reconnect(), asio::detached);
}

void DeviceObject::schedule_reconnect(std::optional<std::chrono::seconds> at_least) {
    reconnect_delay_.configure(context_.settings.reconnect_first,
                               context_.settings.reconnect_longest);
    std::chrono::milliseconds delay = reconnect_delay_.next();
    if (at_least && *at_least > delay) {
        delay = *at_least;
    }
    // What the device asked for holds even if discovery sees it again meanwhile.
    backed_off_until_ = at_least ? std::chrono::steady_clock::now() + *at_least
                                 : std::chrono::steady_clock::time_point{};
    if (connection_ == nullptr) {
        set_link_state(LinkState::reconnecting);
    }
    log_about(spdlog::level::debug, {device_id_, {}}, "{} ({}): next connection attempt in {} ms",
              config_.name, device_id_, delay.count());
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && self->keeps_connected() && !self->connecting_) {
            asio::co_spawn(self->context_.io, self->reconnect(), asio::detached);
        }
    });
}

// An attempt of AutoConnect: its failure is in ConnectionState and ConnectionError, and
// connect() has scheduled the next one.
asio::awaitable<void> DeviceObject::reconnect() {
    auto self = shared_from_this();
    if (connecting_ || !keeps_connected()) {
        co_return;
    }
    try {
        co_await connect();
    } catch (const std::exception& error) {
        log_about(spdlog::level::info, {device_id_, {}}, "{} ({}) not connected yet: {}",
                  config_.name, device_id_, error.what());
    }
}

void DeviceObject::device_reappeared() {
    // Connect waiting for a device it woke goes on at once.
    wake_timer_.cancel();
    connect_if_wanted();
}

void DeviceObject::SetAutoConnect(sdbus::Result<>&& result, bool enable) {
    guarded([&] {
        require_listed();
        context_.authorization.require_admin(current_caller(getObject()), "SetAutoConnect");
        reply_later(context_.io, context_.loop, reply_owner(), std::move(result),
                    [self = shared_from_this(), enable] { return self->set_auto_connect(enable); });
    });
}

asio::awaitable<void> DeviceObject::set_auto_connect(bool enable) {
    auto self = shared_from_this();
    if (enable != auto_connect_) {
        atv::StoredDevice stored = stored_record();
        stored.auto_connect = enable;
        co_await context_.store.save_async(stored);
        auto_connect_ = enable;
        if (credentials_ != stored.credentials) {
            // A pairing stored credentials meanwhile: write them with the setting.
            co_await context_.store.save_async(stored_record());
        }
        ChangedProperties changed;
        changed.add("AutoConnect");
        changed.emit(context_.loop, getObject(), org::atvd::Device1_adaptor::INTERFACE_NAME);
        log_about(spdlog::level::info, {device_id_, {}}, "AutoConnect of {} ({}) turned {}",
                  config_.name, device_id_, enable ? "on" : "off");
    }
    if (enable) {
        auto_suspended_ = false;
        auto_stopped_ = false;
        connect_if_wanted();
    } else {
        reconnect_timer_.cancel();
        if (link_state_ == LinkState::reconnecting) {
            set_link_state(LinkState::disconnected);
        }
    }
}

}  // namespace atvd
