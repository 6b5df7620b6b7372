#include "bus_errors.hpp"

#include <spdlog/spdlog.h>

namespace atvd {

sdbus::Error bus_error(atv::ErrorKind kind, const std::string& message) {
    return sdbus::Error(std::string(error_prefix) + std::string(atv::error_name(kind)), message);
}

sdbus::Error to_bus_error(const atv::Error& error) {
    return bus_error(error.kind(), error.what());
}

void send_reply(const std::function<void()>& send) {
    try {
        send();
    } catch (const std::exception& error) {
        spdlog::warn("a reply could not be sent (the caller may have left): {}", error.what());
    }
}

sdbus::Error to_bus_error(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const sdbus::Error& bus) {
        return bus;
    } catch (const atv::Error& atv_error) {
        return to_bus_error(atv_error);
    } catch (const std::exception& unexpected) {
        spdlog::error("internal error: {}", unexpected.what());
        return sdbus::Error("org.freedesktop.DBus.Error.Failed",
                            std::string("internal error: ") + unexpected.what());
    } catch (...) {
        spdlog::error("internal error of unknown type");
        return sdbus::Error("org.freedesktop.DBus.Error.Failed", "internal error");
    }
}

}  // namespace atvd
