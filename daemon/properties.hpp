// Collects the names of properties whose values changed, for one PropertiesChanged signal.
#pragma once

#include <sdbus-c++/IObject.h>

#include <string>
#include <vector>

namespace atvd {

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

    void emit(sdbus::IObject& object, const char* interface) const {
        if (!names_.empty()) {
            object.emitPropertiesChangedSignal(interface, names_);
        }
    }

  private:
    std::vector<std::string> names_;
};

}  // namespace atvd
