// The interfaces of a connected device that concern the device as a whole rather than what it
// plays: org.atvd.Power1, org.atvd.Apps1 and org.atvd.Keyboard1, at the device's path beside
// the other control interfaces (control_objects.hpp), which add and withdraw them with the rest.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "atv/control.hpp"
#include "context.hpp"
#include "player_state.hpp"

namespace atvd {

struct ControlState;
class PowerObject;
class AppsObject;
class KeyboardObject;

class SystemObjects {
  public:
    SystemObjects(Context& context, std::string path, std::shared_ptr<ControlState> state);

    // Creates and withdraws the three objects to match `wanted`, noting each interface's name in
    // `added` or `removed`, so that the caller announces all control interfaces in one signal.
    void sync(const ControlInterfaces& wanted, std::vector<std::string>& added,
              std::vector<std::string>& removed);
    // Power1.PowerState and Keyboard1.FocusState: PropertiesChanged when the value is new.
    void show_power_state(atv::PowerState power);
    void show_focus_state(atv::FocusState focus);

  private:
    Context& context_;
    std::string path_;
    std::shared_ptr<ControlState> state_;
    std::shared_ptr<PowerObject> power_;
    std::shared_ptr<AppsObject> apps_;
    std::shared_ptr<KeyboardObject> keyboard_;
};

}  // namespace atvd
