#include "control_objects.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "bus_errors.hpp"
#include "control_arguments.hpp"
#include "control_interface.hpp"
#include "org.atvd.Audio1.adaptor.h"
#include "org.atvd.Device1.adaptor.h"
#include "org.atvd.Player1.adaptor.h"
#include "org.atvd.RemoteControl1.adaptor.h"
#include "properties.hpp"

namespace atvd {

atv::Control& ControlState::connected() const {
    if (control == nullptr) {
        throw atv::Error(atv::ErrorKind::connection_lost, "the connection to the device ended");
    }
    return *control;
}

void ControlState::require(atv::Feature feature) const {
    const atv::FeatureState state = connected().feature_state(feature);
    if (state == atv::FeatureState::unsupported || state == atv::FeatureState::unavailable) {
        throw bus_error(atv::ErrorKind::not_supported,
                        std::string(atv::to_string(feature)) +
                            " is not available on this connection now (" +
                            std::string(atv::to_string(state)) + ")");
    }
}

class RemoteControlObject final : public ControlInterface<org::atvd::RemoteControl1_adaptor> {
  public:
    RemoteControlObject(Context& context, const std::string& path,
                        std::shared_ptr<ControlState> state)
        : ControlInterface(context, path, std::move(state)) {
        registerAdaptor();
    }

  private:
    void Press(sdbus::Result<>&& result, std::string key,
               std::map<std::string, sdbus::Variant> options) override {
        guarded([&] {
            require_admin("Press");
            const atv::Key pressed = key_argument(key);
            const PressOptions press = parse_press_options(pressed, options);
            state_->require(atv::feature_of(pressed, press.action));
            reply_when_done(
                std::move(result), [state = state_, pressed, press]() -> asio::awaitable<void> {
                    co_await state->connected().press(pressed, press.action, press.interval);
                });
        });
    }

    void SetPosition(sdbus::Result<>&& result, uint64_t position) override {
        guarded([&] {
            require_admin("SetPosition");
            const auto at = position_argument(position);
            state_->require(atv::Feature::set_position);
            reply_when_done(std::move(result), [state = state_, at]() -> asio::awaitable<void> {
                co_await state->connected().set_position(at);
            });
        });
    }

    void SetShuffle(sdbus::Result<>&& result, std::string mode) override {
        guarded([&] {
            require_admin("SetShuffle");
            const atv::ShuffleMode shuffle = shuffle_argument(mode);
            state_->require(atv::Feature::set_shuffle);
            reply_when_done(std::move(result),
                            [state = state_, shuffle]() -> asio::awaitable<void> {
                                co_await state->connected().set_shuffle(shuffle);
                            });
        });
    }

    void SetRepeat(sdbus::Result<>&& result, std::string mode) override {
        guarded([&] {
            require_admin("SetRepeat");
            const atv::RepeatMode repeat = repeat_argument(mode);
            state_->require(atv::Feature::set_repeat);
            reply_when_done(std::move(result), [state = state_, repeat]() -> asio::awaitable<void> {
                co_await state->connected().set_repeat(repeat);
            });
        });
    }
};

class PlayerObject final : public ControlInterface<org::atvd::Player1_adaptor> {
  public:
    using Artwork = sdbus::Struct<std::string, std::vector<uint8_t>, uint32_t, uint32_t>;

    PlayerObject(Context& context, const std::string& path, std::shared_ptr<ControlState> state)
        : ControlInterface(context, path, std::move(state)) {
        registerAdaptor();
    }

    // PropertiesChanged for `changed`, with their values, built directly: cheaper than
    // sd-bus's generic emission, which looks the object up and calls every getter.
    void emit_changes(PlayerChanges changed) {
        sdbus::Signal signal =
            object().createSignal("org.freedesktop.DBus.Properties", "PropertiesChanged");
        signal << INTERFACE_NAME;
        signal.openContainer("{sv}");
        changed.for_each([&](PlayerProperty property) {
            signal.openDictEntry("sv");
            signal << to_string(property).data();
            visit_property(property, [&signal](const auto& value) {
                using Value = std::decay_t<decltype(value)>;
                if constexpr (std::is_same_v<Value, std::string>) {
                    signal.openVariant("s");
                    if (is_valid_utf8(value)) {
                        signal << value;
                    } else {
                        signal << valid_utf8(value);
                    }
                } else {
                    signal.openVariant(sdbus::signature_of<Value>::str());
                    signal << value;
                }
                signal.closeVariant();
            });
            signal.closeDictEntry();
        });
        signal.closeContainer();
        signal << std::vector<std::string>{};
        object().emitSignal(signal);
    }

  private:
    void GetArtwork(sdbus::Result<Artwork>&& result, uint32_t width, uint32_t height) override {
        guarded([&] {
            require_admin("GetArtwork");
            require_artwork();
            reply_when_done(
                std::move(result), [state = state_, width, height]() -> asio::awaitable<Artwork> {
                    atv::Artwork art = co_await state->connected().artwork(width, height);
                    co_return Artwork{valid_utf8(art.mime_type),
                                      std::vector<uint8_t>(art.data.begin(), art.data.end()),
                                      art.width, art.height};
                });
        });
    }

    // Artwork that is supported but not there now is not found, rather than not supported.
    void require_artwork() const {
        if (state_->connected().feature_state(atv::Feature::artwork) ==
            atv::FeatureState::unavailable) {
            throw bus_error(atv::ErrorKind::not_found, "there is no artwork now");
        }
        state_->require(atv::Feature::artwork);
    }

    const atv::NowPlaying& shown() const { return state_->shown; }

    // Calls `visit` with the value of `property` as the bus carries it, for its getter and for
    // PropertiesChanged alike: std::string (made valid UTF-8 on the way out), uint32_t,
    // uint64_t or double.
    template <typename Visit>
    void visit_property(PlayerProperty property, Visit&& visit) const {
        const atv::NowPlaying& now = shown();
        switch (property) {
            case PlayerProperty::state:
                return visit(std::string(atv::to_string(now.state)));
            case PlayerProperty::media_type:
                return visit(std::string(atv::to_string(now.media_type)));
            case PlayerProperty::title:
                return visit(now.title);
            case PlayerProperty::artist:
                return visit(now.artist);
            case PlayerProperty::album:
                return visit(now.album);
            case PlayerProperty::genre:
                return visit(now.genre);
            case PlayerProperty::series_name:
                return visit(now.series_name);
            case PlayerProperty::season_number:
                return visit(std::uint32_t{now.season_number});
            case PlayerProperty::episode_number:
                return visit(std::uint32_t{now.episode_number});
            case PlayerProperty::duration:
                return visit(microseconds(now.duration));
            case PlayerProperty::position:
                return visit(microseconds(now.position));
            case PlayerProperty::position_timestamp:
                return visit(epoch_microseconds(now.position_timestamp));
            case PlayerProperty::rate:
                return visit(double{now.rate});
            case PlayerProperty::shuffle:
                return visit(std::string(atv::to_string(now.shuffle)));
            case PlayerProperty::repeat:
                return visit(std::string(atv::to_string(now.repeat)));
            case PlayerProperty::content_identifier:
                return visit(now.content_identifier);
            case PlayerProperty::itunes_store_identifier:
                return visit(now.itunes_store_identifier);
            case PlayerProperty::app:
                return visit(now.app);
            case PlayerProperty::app_identifier:
                return visit(now.app_identifier);
            case PlayerProperty::artwork_identifier:
                return visit(now.artwork_identifier);
        }
    }

    template <typename Value>
    Value property(PlayerProperty which) const {
        Value result{};
        visit_property(which, [&result](const auto& value) {
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
                if constexpr (std::is_same_v<Value, std::string>) {
                    result = valid_utf8(value);
                }
            } else if constexpr (std::is_same_v<std::decay_t<decltype(value)>, Value>) {
                result = value;
            }
        });
        return result;
    }

    std::string State() override { return property<std::string>(PlayerProperty::state); }
    std::string MediaType() override { return property<std::string>(PlayerProperty::media_type); }
    std::string Title() override { return property<std::string>(PlayerProperty::title); }
    std::string Artist() override { return property<std::string>(PlayerProperty::artist); }
    std::string Album() override { return property<std::string>(PlayerProperty::album); }
    std::string Genre() override { return property<std::string>(PlayerProperty::genre); }
    std::string SeriesName() override { return property<std::string>(PlayerProperty::series_name); }
    uint32_t SeasonNumber() override { return property<uint32_t>(PlayerProperty::season_number); }
    uint32_t EpisodeNumber() override { return property<uint32_t>(PlayerProperty::episode_number); }
    uint64_t Duration() override { return property<uint64_t>(PlayerProperty::duration); }
    uint64_t Position() override { return property<uint64_t>(PlayerProperty::position); }
    uint64_t PositionTimestamp() override {
        return property<uint64_t>(PlayerProperty::position_timestamp);
    }
    double Rate() override { return property<double>(PlayerProperty::rate); }
    std::string Shuffle() override { return property<std::string>(PlayerProperty::shuffle); }
    std::string Repeat() override { return property<std::string>(PlayerProperty::repeat); }
    std::string ContentIdentifier() override {
        return property<std::string>(PlayerProperty::content_identifier);
    }
    std::string ITunesStoreIdentifier() override {
        return property<std::string>(PlayerProperty::itunes_store_identifier);
    }
    std::string App() override { return property<std::string>(PlayerProperty::app); }
    std::string AppIdentifier() override {
        return property<std::string>(PlayerProperty::app_identifier);
    }
    std::string ArtworkIdentifier() override {
        return property<std::string>(PlayerProperty::artwork_identifier);
    }

    static uint64_t microseconds(std::chrono::microseconds value) {
        return value.count() > 0 ? static_cast<uint64_t>(value.count()) : 0;
    }
};

class AudioObject final : public ControlInterface<org::atvd::Audio1_adaptor> {
  public:
    AudioObject(Context& context, const std::string& path, std::shared_ptr<ControlState> state)
        : ControlInterface(context, path, std::move(state)) {
        registerAdaptor();
    }

  private:
    void SetVolume(sdbus::Result<>&& result, double volume) override {
        guarded([&] {
            require_admin("SetVolume");
            const double level = volume_argument(volume);
            state_->require(atv::Feature::set_volume);
            reply_when_done(std::move(result), [state = state_, level]() -> asio::awaitable<void> {
                co_await state->connected().set_volume(level);
            });
        });
    }

    void VolumeUp(sdbus::Result<>&& result) override {
        guarded([&] {
            require_admin("VolumeUp");
            state_->require(atv::Feature::volume_up);
            reply_when_done(std::move(result), [state = state_]() -> asio::awaitable<void> {
                co_await state->connected().volume_up();
            });
        });
    }

    void VolumeDown(sdbus::Result<>&& result) override {
        guarded([&] {
            require_admin("VolumeDown");
            state_->require(atv::Feature::volume_down);
            reply_when_done(std::move(result), [state = state_]() -> asio::awaitable<void> {
                co_await state->connected().volume_down();
            });
        });
    }

    double Volume() override { return state_->volume.value_or(0.0); }
};

ControlObjects::ControlObjects(Context& context, sdbus::IObject& device, std::string path,
                               atv::Control& control)
    : context_(context),
      device_(device),
      path_(std::move(path)),
      state_(std::make_shared<ControlState>()),
      system_(context, path_, state_) {
    state_->control = &control;
    atv::ControlEvents events;
    const std::weak_ptr<ControlState> weak = state_;
    // The callbacks check that this connection's state is still current: a protocol may still
    // hold a copy of them after the objects went.
    events.now_playing = [this, weak](const atv::NowPlaying& playing) {
        if (auto state = weak.lock(); state && state->control != nullptr) {
            show_now_playing(playing);
        }
    };
    events.volume = [this, weak](std::optional<double> volume) {
        if (auto state = weak.lock(); state && state->control != nullptr) {
            show_volume(volume);
        }
    };
    events.features = [this, weak](const atv::FeatureMap& features) {
        if (auto state = weak.lock(); state && state->control != nullptr) {
            show_features(features);
        }
    };
    events.power_state = [this, weak](atv::PowerState power) {
        if (auto state = weak.lock(); state && state->control != nullptr) {
            system_.show_power_state(power);
        }
    };
    events.focus_state = [this, weak](atv::FocusState focus) {
        if (auto state = weak.lock(); state && state->control != nullptr) {
            system_.show_focus_state(focus);
        }
    };
    control.set_events(std::move(events));
    refresh();
}

ControlObjects::~ControlObjects() {
    withdrawn_ = true;
    if (state_->control != nullptr) {
        state_->control->set_events({});
    }
    state_->control = nullptr;
    remove_all_interfaces();
    features_.clear();
    ChangedProperties changed;
    changed.add("Features");
    changed.emit(context_.loop, device_, org::atvd::Device1_adaptor::INTERFACE_NAME);
    context_.loop.kick();
}

std::map<std::string, std::string> ControlObjects::features() const {
    if (withdrawn_) {
        return {};
    }
    return features_;
}

void ControlObjects::refresh() {
    atv::Control& control = state_->connected();
    state_->volume = control.volume();
    system_.show_power_state(control.power_state());
    system_.show_focus_state(control.focus_state());
    if (player_ == nullptr) {
        state_->shown = control.now_playing();
    } else {
        show_now_playing(control.now_playing());
    }
    show_features(control.features());
}

void ControlObjects::show_features(const atv::FeatureMap& features) {
    sync_interfaces(control_interfaces(features));
    auto table = feature_table(features);
    if (table != features_) {
        features_ = std::move(table);
        ChangedProperties changed;
        changed.add("Features");
        changed.emit(context_.loop, device_, org::atvd::Device1_adaptor::INTERFACE_NAME);
        context_.loop.kick();
    }
}

void ControlObjects::show_now_playing(const atv::NowPlaying& reported) {
    const PlayerChanges changed = apply_player_update(state_->shown, reported);
    if (player_ == nullptr || changed.empty()) {
        return;
    }
    // libatv reports a device's burst of messages as one update already (see Control's
    // events), so the signal leaves at once: a post of our own would only cost the loop
    // another turn, and an epoll_wait, per update.
    emit_signal(context_.loop, path_, [&] { player_->emit_changes(changed); });
    // The signal is written at once unless the socket is full; only then has the loop
    // something new to wait for. Re-arming after every update would cost a read of the bus.
    if ((context_.bus.getEventLoopPollData().events & POLLOUT) != 0) {
        context_.loop.kick();
    }
}

void ControlObjects::show_volume(std::optional<double> volume) {
    if (volume == state_->volume) {
        return;
    }
    state_->volume = volume;
    if (audio_ != nullptr) {
        ChangedProperties changed;
        changed.add("Volume");
        changed.emit(context_.loop, audio_->object(), org::atvd::Audio1_adaptor::INTERFACE_NAME);
        context_.loop.kick();
    }
}

void ControlObjects::sync_interfaces(const ControlInterfaces& wanted) {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    if (wanted.player && player_ == nullptr && state_->control != nullptr) {
        state_->shown = state_->control->now_playing();
    }
    sync_one(remote_control_, wanted.remote_control, context_, path_, state_,
             org::atvd::RemoteControl1_adaptor::INTERFACE_NAME, added, removed);
    sync_one(player_, wanted.player, context_, path_, state_,
             org::atvd::Player1_adaptor::INTERFACE_NAME, added, removed);
    sync_one(audio_, wanted.audio, context_, path_, state_,
             org::atvd::Audio1_adaptor::INTERFACE_NAME, added, removed);
    system_.sync(wanted, added, removed);
    if (!removed.empty()) {
        emit_signal(context_.loop, path_, [&] { device_.emitInterfacesRemovedSignal(removed); });
    }
    if (!added.empty()) {
        emit_signal(context_.loop, path_, [&] { device_.emitInterfacesAddedSignal(added); });
    }
    if (!added.empty() || !removed.empty()) {
        context_.loop.kick();
    }
}

void ControlObjects::remove_all_interfaces() {
    sync_interfaces({});
}

}  // namespace atvd
