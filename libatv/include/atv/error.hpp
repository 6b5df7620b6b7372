// The one table of error kinds. The daemon maps each kind to an org.atvd.Error.* name.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace atv {

enum class ErrorKind : std::uint8_t {
    no_service,
    device_id_missing,
    not_supported,
    pairing_failed,
    authentication_failed,
    connection_failed,
    connection_lost,
    timeout,
    back_off,
    invalid_state,
    invalid_arguments,
    in_progress,
    not_authorized,
    not_found,
};

// The D-Bus error suffix of a kind ("NoService", ...), also used in logs.
std::string_view error_name(ErrorKind kind);

// Every failure libatv reports carries a kind and a message a person can act on.
// Messages never contain credentials or key material.
class Error : public std::runtime_error {
  public:
    Error(ErrorKind kind, const std::string& message,
          std::optional<std::chrono::seconds> retry_after = std::nullopt)
        : std::runtime_error(message), kind_(kind), retry_after_(retry_after) {}
    [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
    // For back_off: how long the device asked to be left alone, when it said.
    [[nodiscard]] std::optional<std::chrono::seconds> retry_after() const noexcept {
        return retry_after_;
    }

  private:
    ErrorKind kind_;
    std::optional<std::chrono::seconds> retry_after_;
};

}  // namespace atv
