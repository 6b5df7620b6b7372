#include "airplay/auth.hpp"

#include <spdlog/spdlog.h>

#include "atv/error.hpp"
#include "hap/flows.hpp"
#include "hap/session.hpp"

namespace atv::airplay {

asio::awaitable<Bytes> post_tlv(HttpClient& client, std::string path, Bytes body,
                                std::chrono::milliseconds timeout, std::string_view hkp) {
    // Built, then awaited: GCC 12 destroys temporaries of a co_await expression twice when the
    // awaited coroutine throws.
    auto requesting = client.request(pairing_request(path, std::move(body), hkp), timeout);
    const http::Response response = co_await std::move(requesting);
    if (response.status == 200)
        co_return response.body;
    const std::string what = "the AirPlay service at " + client.peer() + " answered " + path +
                             " with " + std::to_string(response.status) + " " + response.reason;
    if (response.status == 401 || response.status == 403 || response.status == 470) {
        throw Error(ErrorKind::authentication_failed,
                    what + "; it does not accept this client, pair again");
    }
    throw Error(ErrorKind::connection_failed, what);
}

asio::awaitable<SecretBytes> verify_and_encrypt(HttpClient& client,
                                                const hap::HapCredentials& credentials,
                                                std::chrono::milliseconds timeout) {
    const hap::TlvExchange exchange = [&client, timeout](Bytes request) {
        return post_tlv(client, "/pair-verify", std::move(request), timeout);
    };
    SecretBytes shared = co_await hap::pair_verify(credentials, exchange);
    client.enable_encryption(hap::airplay_control_keys(shared.view()));
    spdlog::debug("airplay: {} verified, the connection is encrypted", client.peer());
    co_return shared;
}

asio::awaitable<SecretBytes> transient_setup_and_encrypt(HttpClient& client,
                                                         std::chrono::milliseconds timeout) {
    const hap::TlvExchange exchange = [&client, timeout](Bytes request) {
        return post_tlv(client, "/pair-setup", std::move(request), timeout, "4");
    };
    SecretBytes key = co_await hap::transient_pair_setup(exchange);
    client.enable_encryption(hap::airplay_control_keys(key.view()));
    spdlog::debug("airplay: transient pairing with {} done, the connection is encrypted",
                  client.peer());
    co_return key;
}

}  // namespace atv::airplay
