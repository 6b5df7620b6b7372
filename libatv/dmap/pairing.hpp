// DMAP pairing runs in reverse: this client announces itself as a remote
// (`_touch-remote._tcp`) and serves `/pair`; the user picks the remote on the Apple TV and types
// the PIN this client chose; the Apple TV then calls `/pair` with a code derived from the
// pairing GUID and the PIN. The credentials are the GUID the device now trusts.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "atv/pairing.hpp"
#include "dmap/remote_publisher.hpp"
#include "support/bytes.hpp"

namespace atv::dmap {

// "0x" + 1 to 16 hex digits (either case) to 16 upper-case digits, zero-padded. Throws
// atv::Error(invalid_arguments) otherwise.
std::string normalize_guid(std::string_view guid);
// A random pairing GUID, 16 upper-case hex digits.
std::string random_guid();
// Credentials are "0x" + 16 hex digits (a pairing GUID) or a Home Sharing id (a UUID). Throws
// atv::Error(invalid_arguments) for anything else, without repeating the text.
void validate_credentials(std::string_view credentials);
// The code an Apple TV sends to /pair: MD5 over the GUID (16 upper-case hex digits) and each
// of the 4 PIN digits followed by a NUL, as lower-case hex.
std::string pairing_code(std::string_view guid, std::string_view pin);
// The DMAP-tagged body of a successful /pair reply.
Bytes pairing_reply(std::string_view guid, std::string_view name);

class DmapPairingHandler : public atv::PairingHandler {
  public:
    // `timeout` bounds how long finish() waits for the device.
    DmapPairingHandler(asio::io_context& io, PairingOptions options,
                       std::chrono::milliseconds timeout);
    ~DmapPairingHandler() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::dmap; }
    [[nodiscard]] bool device_provides_pin() const override { return false; }
    [[nodiscard]] bool has_paired() const override;

    // Serves /pair on a free port and announces the remote through Avahi.
    asio::awaitable<void> begin() override;
    // Up to 4 digits, zero-padded: the PIN the user types on the Apple TV.
    void pin(const std::string& pin) override;
    // Waits until the device has called /pair with the right code, for a little less than the
    // handler's timeout. Begun again after a failure, the announcement stays as it is.
    asio::awaitable<void> finish() override;
    // Withdraws the announcement and stops serving.
    asio::awaitable<void> close() override;
    [[nodiscard]] std::string credentials() const override;

    // The port /pair is served on, once begun (for tests).
    [[nodiscard]] std::uint16_t port() const;

    struct Server;

  private:
    [[nodiscard]] std::chrono::milliseconds finish_wait() const;

    asio::io_context& io_;
    PairingOptions options_;
    std::string guid_;
    std::chrono::milliseconds timeout_;
    std::optional<std::string> pin_;  // kept when given before begin()
    std::shared_ptr<Server> server_;
    std::unique_ptr<RemotePublisher> publisher_;
};

}  // namespace atv::dmap
