// HAP over HTTP on the AirPlay port (protocols.md §5.1): TLV8 bodies POSTed to /pair-setup and
// /pair-verify, and the switch of the connection to HAP frames with the Control keys.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "airplay/http_client.hpp"
#include "hap/credentials.hpp"
#include "support/bytes.hpp"

namespace atv::airplay {

// POSTs a TLV8 body (by value: the coroutine keeps it) and returns the answer's body. Throws
// atv::Error: authentication_failed on 401, 403 and 470 (the receiver refuses this client),
// connection_failed on any other status.
asio::awaitable<Bytes> post_tlv(HttpClient& client, std::string path, Bytes body,
                                std::chrono::milliseconds timeout, std::string_view hkp = "3");

// Pair-verify with stored HAP credentials, then encrypts the connection with the Control keys.
// Returns the shared secret: the other channels derive from it. Throws as hap::pair_verify
// does; authentication_failed when the receiver refuses them.
asio::awaitable<SecretBytes> verify_and_encrypt(HttpClient& client,
                                                const hap::HapCredentials& credentials,
                                                std::chrono::milliseconds timeout);

// Transient pair-setup (PIN 3939, no stored credentials), then encrypts the connection with
// Control keys derived from the SRP key. Returns that key: the other channels derive from it.
asio::awaitable<SecretBytes> transient_setup_and_encrypt(HttpClient& client,
                                                         std::chrono::milliseconds timeout);

}  // namespace atv::airplay
