// One Control for a whole connection: per feature, the connected protocol that serves it best
// (Available over Unavailable over Unsupported, ties by protocol priority: MRP, in the AirPlay
// tunnel too, then DMAP, Companion, RAOP), as pyatv's facade decides.
#pragma once

#include <vector>

#include "atv/control.hpp"
#include "atv/types.hpp"

namespace atv {

class ControlFacade final : public Control {
  public:
    // Adds the control of one protocol connection; the facade does not own it.
    void add(Protocol protocol, Control& control);
    // Drops the control of a connection that goes away.
    void remove(Control& control);

    [[nodiscard]] FeatureMap features() const override;
    [[nodiscard]] FeatureState feature_state(Feature feature) const override;
    [[nodiscard]] const NowPlaying& now_playing() const override;
    [[nodiscard]] std::optional<double> volume() const override;
    void set_events(ControlEvents events) override { events_ = std::move(events); }

    asio::awaitable<void> press(Key key, InputAction action,
                                std::optional<double> interval) override;
    asio::awaitable<void> set_position(std::chrono::microseconds position) override;
    asio::awaitable<void> set_shuffle(ShuffleMode mode) override;
    asio::awaitable<void> set_repeat(RepeatMode mode) override;
    asio::awaitable<Artwork> artwork(std::uint32_t width, std::uint32_t height) override;
    asio::awaitable<void> set_volume(double volume) override;
    asio::awaitable<void> volume_up() override;
    asio::awaitable<void> volume_down() override;

    [[nodiscard]] PowerState power_state() const override;
    asio::awaitable<void> turn_on() override;
    asio::awaitable<void> turn_off() override;
    asio::awaitable<std::vector<NamedItem>> apps() override;
    asio::awaitable<void> launch(std::string app) override;
    asio::awaitable<std::vector<NamedItem>> accounts() override;
    asio::awaitable<void> switch_account(std::string identifier) override;
    [[nodiscard]] FocusState focus_state() const override;
    asio::awaitable<std::string> text() override;
    asio::awaitable<void> set_text(std::string text) override;
    asio::awaitable<void> append_text(std::string text) override;
    asio::awaitable<void> clear_text() override;

  private:
    struct Member {
        int priority;
        Control* control;
    };

    // The control that serves `feature` best; throws not_supported naming it when none does.
    Control& serving(Feature feature) const;
    // The same, or nullptr when none does.
    [[nodiscard]] Control* best_for(Feature feature) const;
    // The control whose state is shown: the best for push updates, else the first.
    [[nodiscard]] const Control* reporting() const;
    void subscribe(Control& control);

    std::vector<Member> members_;  // by priority
    ControlEvents events_;
};

}  // namespace atv
