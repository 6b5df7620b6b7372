#include "dmap/remote_publisher.hpp"

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/error.h>
#include <avahi-common/strlst.h>
#include <spdlog/spdlog.h>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "atv/error.hpp"

namespace atv::dmap {

RemotePublisher::RemotePublisher(asio::io_context& io, ServiceAnnouncement service)
    : poll_(io), service_(std::move(service)), wake_(io) {}

RemotePublisher::~RemotePublisher() {
    withdraw();
}

void RemotePublisher::withdraw() {
    if (client_ != nullptr) {
        avahi_client_free(client_);  // frees the entry group too: the service is withdrawn
        client_ = nullptr;
        group_ = nullptr;
        spdlog::debug("dmap: withdrew {}", service_.type);
    }
    established_ = false;
    wake_.cancel();
}

asio::awaitable<void> RemotePublisher::publish(std::chrono::milliseconds timeout) {
    if (client_ != nullptr) {
        throw Error(ErrorKind::invalid_state, "the service is published already");
    }
    int error = 0;
    // Without AVAHI_CLIENT_NO_FAIL a missing daemon is reported here, at once.
    client_ = avahi_client_new(
        poll_.api(), static_cast<AvahiClientFlags>(0),
        [](AvahiClient* client, AvahiClientState state, void* self) {
            static_cast<RemotePublisher*>(self)->on_client_state(client, static_cast<int>(state));
        },
        this, &error);
    if (client_ == nullptr) {
        throw Error(ErrorKind::connection_failed,
                    std::string("avahi-daemon is not reachable (") + avahi_strerror(error) +
                        "); DMAP pairing announces this client through it");
    }
    wake_.expires_after(timeout);
    while (!established_ && failure_.empty() && client_ != nullptr) {
        std::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
            withdraw();
            throw Error(ErrorKind::timeout, "Avahi did not establish " + service_.type +
                                                " in time; check avahi-daemon");
        }
    }
    if (!failure_.empty()) {
        withdraw();
        throw Error(ErrorKind::connection_failed, failure_);
    }
    if (!established_) {
        throw Error(ErrorKind::invalid_state, "the pairing was closed while announcing it");
    }
}

void RemotePublisher::on_client_state(AvahiClient* client, int state) {
    if (state == AVAHI_CLIENT_S_RUNNING) {
        add_service(client);
    } else if (state == AVAHI_CLIENT_FAILURE) {
        fail(std::string("the connection to avahi-daemon failed: ") +
             avahi_strerror(avahi_client_errno(client)));
    } else if (state == AVAHI_CLIENT_S_COLLISION || state == AVAHI_CLIENT_S_REGISTERING) {
        // The host name changes: Avahi withdraws our records; publish again once running.
        if (group_ != nullptr) {
            avahi_entry_group_reset(group_);
        }
    }
}

void RemotePublisher::on_group_state(AvahiEntryGroup* group, int state) {
    if (state == AVAHI_ENTRY_GROUP_ESTABLISHED) {
        established_ = true;
        spdlog::info("dmap: announcing {} as {} on port {}", service_.type, service_.instance_name,
                     service_.port);
        wake_.cancel();
    } else if (state == AVAHI_ENTRY_GROUP_COLLISION) {
        fail("another host announces " + service_.instance_name + "." + service_.type +
             "; start pairing again with another PairingGuid");
    } else if (state == AVAHI_ENTRY_GROUP_FAILURE) {
        fail(std::string("Avahi could not announce ") + service_.type + ": " +
             avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(group))));
    }
}

void RemotePublisher::add_service(AvahiClient* client) {
    if (group_ == nullptr) {
        group_ = avahi_entry_group_new(
            client,
            [](AvahiEntryGroup* group, AvahiEntryGroupState state, void* self) {
                static_cast<RemotePublisher*>(self)->on_group_state(group, static_cast<int>(state));
            },
            this);
        if (group_ == nullptr) {
            fail(std::string("Avahi refused an entry group: ") +
                 avahi_strerror(avahi_client_errno(client)));
            return;
        }
    }
    if (avahi_entry_group_is_empty(group_) == 0) {
        return;
    }
    AvahiStringList* txt = nullptr;
    for (const auto& item : service_.txt) {
        txt = avahi_string_list_add(txt, item.c_str());
    }
    int result = avahi_entry_group_add_service_strlst(
        group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, static_cast<AvahiPublishFlags>(0),
        service_.instance_name.c_str(), service_.type.c_str(), nullptr, nullptr, service_.port,
        txt);
    avahi_string_list_free(txt);
    if (result >= 0) {
        result = avahi_entry_group_commit(group_);
    }
    if (result < 0) {
        fail("Avahi could not announce " + service_.type + ": " + avahi_strerror(result));
    }
}

void RemotePublisher::fail(std::string reason) {
    spdlog::warn("dmap: {}", reason);
    established_ = false;
    failure_ = std::move(reason);
    wake_.cancel();
}

}  // namespace atv::dmap
