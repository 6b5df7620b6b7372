// Continuous discovery: Avahi browsers for every type, a resolver kept open per service, and
// the device table turning resolved services into devices.
#include "atv/discovery.hpp"

#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/address.h>
#include <avahi-common/error.h>
#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <unordered_map>

#include "discovery/avahi_poll.hpp"
#include "discovery/device_table.hpp"
#include "discovery/txt.hpp"

namespace atv {

namespace {

using discovery::ServiceKind;
constexpr auto first_retry = std::chrono::milliseconds(250);
constexpr auto max_retry = std::chrono::seconds(2);
constexpr auto resolve_retry = std::chrono::seconds(5);

std::string usable_ipv4(const AvahiAddress* address) {
    if (address == nullptr || address->proto != AVAHI_PROTO_INET) {
        return {};
    }
    char text[AVAHI_ADDRESS_STR_MAX] = {};
    avahi_address_snprint(text, sizeof text, address);
    const std::uint32_t host_order = ntohl(address->data.ipv4.address);
    const bool link_local = (host_order >> 16) == 0xA9FE;  // 169.254/16
    const bool unspecified = host_order == 0;
    // Loopback stays: devices under test live on 127.0.0.1.
    return (link_local || unspecified) ? std::string{} : std::string(text);
}

}  // namespace

class Discovery::Impl {
  public:
    Impl(asio::io_context& io, DiscoveryEvents events)
        : io_(io), events_(std::move(events)), poll_(io), retry_timer_(io), resolve_timer_(io) {}

    ~Impl() {
        *alive_ = false;
        release_avahi();
    }

    void start() {
        if (started_) {
            return;
        }
        started_ = true;
        backoff_ = first_retry;
        create_client();
    }

    void stop() {
        started_ = false;
        retry_timer_.cancel();
        resolve_timer_.cancel();
        release_avahi();
        set_running(false);
    }

    [[nodiscard]] bool running() const { return running_; }

  private:
    struct Service {
        Impl* owner = nullptr;
        std::string key;
        ServiceKind kind = ServiceKind::mrp;
        AvahiIfIndex interface = AVAHI_IF_UNSPEC;
        AvahiProtocol protocol = AVAHI_PROTO_UNSPEC;
        std::string name, type, domain;
        AvahiServiceResolver* resolver = nullptr;
    };

    struct Browser {
        Impl* owner = nullptr;
        ServiceKind kind = ServiceKind::mrp;
        AvahiServiceBrowser* browser = nullptr;
    };

    void create_client() {
        int error = 0;
        client_ =
            avahi_client_new(poll_.api(), AVAHI_CLIENT_NO_FAIL, on_client_state, this, &error);
        if (client_ == nullptr) {
            spdlog::warn("discovery: cannot reach Avahi ({}); retrying", avahi_strerror(error));
            set_running(false);
            schedule_retry();
        }
    }

    void schedule_retry() {
        retry_timer_.expires_after(backoff_);
        backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, max_retry);
        retry_timer_.async_wait([this, alive = alive_](std::error_code error) {
            if (!error && *alive && started_ && client_ == nullptr) {
                create_client();
            }
        });
    }

    static void on_client_state(AvahiClient* client, AvahiClientState state, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        switch (state) {
            case AVAHI_CLIENT_S_RUNNING:
                self->backoff_ = first_retry;
                self->create_browsers(client);
                self->set_running(true);
                break;
            case AVAHI_CLIENT_FAILURE:
                spdlog::info("discovery: Avahi went away ({}); waiting for it to return",
                             avahi_strerror(avahi_client_errno(client)));
                // Freeing the client inside its own callback is not allowed: do it next.
                asio::post(self->io_, [self, alive = self->alive_] {
                    if (*alive && self->started_) {
                        self->release_avahi();
                        self->set_running(false);
                        self->schedule_retry();
                    }
                });
                break;
            case AVAHI_CLIENT_CONNECTING:
                self->forget_services();
                self->set_running(false);
                break;
            case AVAHI_CLIENT_S_REGISTERING:
            case AVAHI_CLIENT_S_COLLISION:
                break;
        }
    }

    void create_browsers(AvahiClient* client) {
        if (!browsers_.empty()) {
            return;
        }
        for (const discovery::ServiceType& type : discovery::service_types()) {
            auto browser = std::make_unique<Browser>();
            browser->owner = this;
            browser->kind = type.kind;
            const std::string name(type.name);
            browser->browser = avahi_service_browser_new(
                client, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, name.c_str(), nullptr,
                static_cast<AvahiLookupFlags>(0), on_browse, browser.get());
            if (browser->browser == nullptr) {
                spdlog::warn("discovery: cannot browse {}: {}", name,
                             avahi_strerror(avahi_client_errno(client)));
                continue;
            }
            browsers_.push_back(std::move(browser));
        }
    }

    static void on_browse(AvahiServiceBrowser* /*browser*/, AvahiIfIndex interface,
                          AvahiProtocol protocol, AvahiBrowserEvent event, const char* name,
                          const char* type, const char* domain, AvahiLookupResultFlags /*flags*/,
                          void* userdata) {
        auto* browser = static_cast<Browser*>(userdata);
        Impl* self = browser->owner;
        if (event != AVAHI_BROWSER_NEW && event != AVAHI_BROWSER_REMOVE) {
            if (event == AVAHI_BROWSER_FAILURE) {
                spdlog::debug("discovery: a browser failed; the client state decides what next");
            }
            return;
        }
        std::string key = std::to_string(interface) + '/' + std::to_string(protocol) + '/' + type +
                          '/' + domain + '/' + name;
        if (event == AVAHI_BROWSER_NEW) {
            self->add_service(std::move(key), browser->kind, interface, protocol, name, type,
                              domain);
        } else {
            self->remove_service(key);
        }
    }

    void add_service(std::string key, ServiceKind kind, AvahiIfIndex interface,
                     AvahiProtocol protocol, const char* name, const char* type,
                     const char* domain) {
        if (services_.count(key) != 0) {
            return;
        }
        auto service = std::make_unique<Service>();
        service->owner = this;
        service->key = key;
        service->kind = kind;
        service->interface = interface;
        service->protocol = protocol;
        service->name = name;
        service->type = type;
        service->domain = domain;
        Service* raw = service.get();
        services_.emplace(std::move(key), std::move(service));
        resolve(*raw);
    }

    void resolve(Service& service) {
        if (client_ == nullptr || service.resolver != nullptr) {
            return;
        }
        // Kept open: Avahi reports every later change of TXT, port or address through it.
        service.resolver = avahi_service_resolver_new(
            client_, service.interface, service.protocol, service.name.c_str(),
            service.type.c_str(), service.domain.c_str(), AVAHI_PROTO_INET,
            static_cast<AvahiLookupFlags>(0), on_resolve, &service);
        if (service.resolver == nullptr) {
            spdlog::debug("discovery: cannot resolve {}: {}", service.name,
                          avahi_strerror(avahi_client_errno(client_)));
            schedule_resolve_retry();
        }
    }

    void remove_service(const std::string& key) {
        const auto found = services_.find(key);
        if (found == services_.end()) {
            return;
        }
        if (found->second->resolver != nullptr) {
            avahi_service_resolver_free(found->second->resolver);
        }
        services_.erase(found);
        table_.remove(key);
        post_flush();
    }

    static void on_resolve(AvahiServiceResolver* resolver, AvahiIfIndex /*interface*/,
                           AvahiProtocol /*protocol*/, AvahiResolverEvent event, const char* name,
                           const char* /*type*/, const char* /*domain*/, const char* /*host*/,
                           const AvahiAddress* address, std::uint16_t port, AvahiStringList* txt,
                           AvahiLookupResultFlags /*flags*/, void* userdata) {
        const auto called = std::chrono::steady_clock::now();
        auto* service = static_cast<Service*>(userdata);
        Impl* self = service->owner;
        if (event == AVAHI_RESOLVER_FAILURE) {
            spdlog::debug(
                "discovery: resolving {} failed: {}", service->name,
                avahi_strerror(avahi_client_errno(avahi_service_resolver_get_client(resolver))));
            avahi_service_resolver_free(resolver);
            service->resolver = nullptr;
            self->table_.remove(service->key);
            self->post_flush();
            self->schedule_resolve_retry();
            return;
        }
        discovery::ServiceRecord record;
        record.kind = service->kind;
        record.instance_name = discovery::to_valid_utf8(name);
        record.address = usable_ipv4(address);
        record.port = port;
        record.properties = discovery::parse_txt_strings(txt);
        self->table_.upsert(service->key, std::move(record));
        self->post_flush(called);
    }

    void schedule_resolve_retry() {
        if (resolve_retry_armed_) {
            return;
        }
        resolve_retry_armed_ = true;
        resolve_timer_.expires_after(resolve_retry);
        resolve_timer_.async_wait([this, alive = alive_](std::error_code error) {
            if (!*alive) {
                return;
            }
            resolve_retry_armed_ = false;
            if (error) {
                return;
            }
            for (auto& [key, service] : services_) {
                resolve(*service);
            }
        });
    }

    // Coalesces every change of one burst of Avahi callbacks into one pass, run right after.
    void post_flush(
        std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now()) {
        if (flush_posted_) {
            return;
        }
        flush_posted_ = true;
        first_change_ = since;
        asio::post(io_, [this, alive = alive_] {
            if (*alive) {
                flush_posted_ = false;
                flush();
            }
        });
    }

    void flush() {
        const auto alive = alive_;
        if (reported_running_ != std::optional<bool>(running_)) {
            reported_running_ = running_;
            if (events_.on_state) {
                events_.on_state(running_);
                if (!*alive) {
                    return;
                }
            }
        }
        const auto changes = table_.take_changes();
        if (!changes.empty()) {
            const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - first_change_);
            spdlog::debug("discovery: reporting {} device change(s), {} us after Avahi's callback",
                          changes.size(), latency.count());
        }
        for (const auto& change : changes) {
            if (change.device && events_.on_device) {
                events_.on_device(change.key, *change.device);
            } else if (!change.device && events_.on_device_gone) {
                events_.on_device_gone(change.key);
            }
            if (!*alive) {
                return;
            }
        }
    }

    void set_running(bool running) {
        running_ = running;
        post_flush();
    }

    void forget_services() {
        for (auto& [key, service] : services_) {
            if (service->resolver != nullptr) {
                avahi_service_resolver_free(service->resolver);
            }
        }
        services_.clear();
        table_.clear();
        post_flush();
    }

    void release_avahi() {
        forget_services();
        for (auto& browser : browsers_) {
            avahi_service_browser_free(browser->browser);
        }
        browsers_.clear();
        if (client_ != nullptr) {
            avahi_client_free(client_);
            client_ = nullptr;
        }
    }

    asio::io_context& io_;
    DiscoveryEvents events_;
    discovery::AsioAvahiPoll poll_;
    AvahiClient* client_ = nullptr;
    std::vector<std::unique_ptr<Browser>> browsers_;
    std::unordered_map<std::string, std::unique_ptr<Service>> services_;
    discovery::DeviceTable table_;
    asio::steady_timer retry_timer_;
    asio::steady_timer resolve_timer_;
    std::chrono::milliseconds backoff_ = first_retry;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool started_ = false;
    bool running_ = false;
    std::optional<bool> reported_running_;
    bool flush_posted_ = false;
    std::chrono::steady_clock::time_point first_change_;
    bool resolve_retry_armed_ = false;
};

Discovery::Discovery(asio::io_context& io, DiscoveryEvents events)
    : impl_(std::make_unique<Impl>(io, std::move(events))) {}

Discovery::~Discovery() = default;

void Discovery::start() {
    impl_->start();
}
void Discovery::stop() {
    impl_->stop();
}
bool Discovery::running() const {
    return impl_->running();
}

}  // namespace atv
