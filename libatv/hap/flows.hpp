// Thin coroutine drivers of the pairing state machines over any transport. The transport
// supplies one request/response exchange of TLV8 bodies (HTTP POST, an MRP message, a Companion
// frame) and owns its deadlines; these functions only sequence the steps.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>

#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "hap/pair_setup.hpp"
#include "support/bytes.hpp"

namespace atv::hap {

// Sends one TLV8 body and returns the device's answer.
using TlvExchange = std::function<asio::awaitable<Bytes>(Bytes request)>;

// Pair-setup split where the user enters the PIN: begin() makes the device show it.
class PairSetupFlow {
  public:
    PairSetupFlow(ClientIdentity identity, std::optional<std::string> display_name,
                  SrpIntegerEncoding encoding = SrpIntegerEncoding::minimal);

    // M1 -> M2.
    asio::awaitable<void> begin(const TlvExchange& exchange);
    void pin(std::string pin);
    // M3 -> M4, M5 -> M6; throws as PairSetupController does.
    asio::awaitable<HapCredentials> finish(const TlvExchange& exchange);

  private:
    PairSetupController controller_;
    std::optional<Bytes> m2_;
};

// Transient pair-setup (M1..M4, PIN 3939); returns the SRP key the session keys derive from.
asio::awaitable<SecretBytes> transient_pair_setup(
    const TlvExchange& exchange, SrpIntegerEncoding encoding = SrpIntegerEncoding::minimal);

// Pair-verify M1..M4; returns the shared secret the session keys derive from.
asio::awaitable<SecretBytes> pair_verify(const HapCredentials& credentials,
                                         const TlvExchange& exchange);

}  // namespace atv::hap
