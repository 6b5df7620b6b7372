// The control interfaces of a connected device (org.atvd.RemoteControl1, org.atvd.Player1,
// org.atvd.Audio1; Power1, Apps1 and Keyboard1 through system_objects.hpp) at the device's own
// path, beside Device1: each is an object of its own that joins the path while the connection's
// features call for it, announced through the device's object manager. They leave when the
// connection ends.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "atv/control.hpp"
#include "context.hpp"
#include "player_state.hpp"
#include "system_objects.hpp"

namespace atvd {

// What the interface objects of one connection share. An object may outlive the connection for
// as long as it owes a reply, so the state is shared and `control` goes null when it ends.
struct ControlState {
    atv::Control* control = nullptr;
    atv::NowPlaying shown;  // what Player1 shows (see player_update)
    std::optional<double> volume;
    atv::PowerState power_state = atv::PowerState::unknown;
    atv::FocusState focus_state = atv::FocusState::unknown;

    // The connection's control; ConnectionLost once the connection has ended.
    [[nodiscard]] atv::Control& connected() const;
    // NotSupported naming the feature unless it is available (or the protocol cannot tell).
    void require(atv::Feature feature) const;
};

class RemoteControlObject;
class PlayerObject;
class AudioObject;

class ControlObjects {
  public:
    // `device` is the Device1 object at `path`, whose object manager announces the interfaces
    // and whose Features property this feeds.
    ControlObjects(Context& context, sdbus::IObject& device, std::string path,
                   atv::Control& control);
    ~ControlObjects();
    ControlObjects(const ControlObjects&) = delete;
    ControlObjects& operator=(const ControlObjects&) = delete;

    // Device1.Features; empty once the connection is being withdrawn.
    [[nodiscard]] std::map<std::string, std::string> features() const;
    // Reads the control again, after the connection gained or lost protocols.
    void refresh();

  private:
    void show_features(const atv::FeatureMap& features);
    void show_now_playing(const atv::NowPlaying& reported);
    void show_volume(std::optional<double> volume);
    // Adds and removes interfaces so that they match `wanted`, in one signal each way.
    void sync_interfaces(const ControlInterfaces& wanted);
    void remove_all_interfaces();

    Context& context_;
    sdbus::IObject& device_;
    std::string path_;
    std::shared_ptr<ControlState> state_;
    std::map<std::string, std::string> features_;
    bool withdrawn_ = false;
    std::shared_ptr<RemoteControlObject> remote_control_;
    std::shared_ptr<PlayerObject> player_;
    std::shared_ptr<AudioObject> audio_;
    SystemObjects system_;
};

}  // namespace atvd
