// Signals on a bus that may be gone: objects emit from destructors and loop callbacks, where an
// exception would end the daemon, and after the bus connection failed there is no one to tell.
#pragma once

#include <sdbus-c++/IObject.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "bus_loop.hpp"

namespace atvd {

// Emits a signal while the bus connection works; a failure to emit is logged, never thrown.
// `path` is the emitting object's: the loop's pacing counts the objects that signal.
template <typename Emit>
void emit_signal(BusLoop& loop, std::string_view path, Emit&& emit) noexcept {
    if (!loop.connected()) {
        return;
    }
    try {
        emit();
        loop.note_signal(path);
    } catch (const std::exception& error) {
        spdlog::debug("a signal could not be sent: {}", error.what());
    }
}

// Collects the names of properties whose values changed, for one PropertiesChanged signal.
class ChangedProperties {
  public:
    template <typename T>
    void note(const char* name, const T& before, const T& after) {
        if (!(before == after)) {
            names_.emplace_back(name);
        }
    }
    void add(const char* name) { names_.emplace_back(name); }
    [[nodiscard]] bool empty() const { return names_.empty(); }

    void emit(BusLoop& loop, sdbus::IObject& object, const char* interface) const {
        if (!names_.empty()) {
            emit_signal(loop, object.getObjectPath(),
                        [&] { object.emitPropertiesChangedSignal(interface, names_); });
        }
    }

  private:
    std::vector<std::string> names_;
};

}  // namespace atvd
