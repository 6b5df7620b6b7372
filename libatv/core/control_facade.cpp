#include "core/control_facade.hpp"

#include <algorithm>

#include "atv/error.hpp"

namespace atv {

namespace {

int priority_of(Protocol protocol) {
    switch (protocol) {
        case Protocol::mrp:
        case Protocol::airplay:  // MRP in the AirPlay 2 tunnel
            return 0;
        case Protocol::dmap:
            return 1;
        case Protocol::companion:
            return 2;
        case Protocol::raop:
            return 3;
    }
    return 4;
}

int rank(FeatureState state) {
    switch (state) {
        case FeatureState::available:
            return 0;
        case FeatureState::unavailable:
            return 1;
        case FeatureState::unknown:
            return 2;
        case FeatureState::unsupported:
            return 3;
    }
    return 3;
}

const NowPlaying& nothing_playing() {
    static const NowPlaying none;
    return none;
}

}  // namespace

void ControlFacade::add(Protocol protocol, Control& control) {
    const Member member{priority_of(protocol), &control};
    const auto at =
        std::upper_bound(members_.begin(), members_.end(), member,
                         [](const Member& a, const Member& b) { return a.priority < b.priority; });
    members_.insert(at, member);
    subscribe(control);
}

void ControlFacade::remove(Control& control) {
    std::erase_if(members_, [&](const Member& member) { return member.control == &control; });
    // What the others can do now is what the connection can do.
    if (events_.features) {
        events_.features(features());
    }
    if (events_.now_playing) {
        events_.now_playing(now_playing());
    }
}

void ControlFacade::subscribe(Control& control) {
    ControlEvents events;
    events.now_playing = [this, &control](const NowPlaying& playing) {
        if (reporting() == &control && events_.now_playing) {
            events_.now_playing(playing);
        }
    };
    events.volume = [this, &control](std::optional<double> level) {
        if (events_.volume && best_for(Feature::volume) == &control) {
            events_.volume(level);
        }
    };
    events.power_state = [this, &control](PowerState state) {
        if (events_.power_state && best_for(Feature::power_state) == &control) {
            events_.power_state(state);
        }
    };
    events.focus_state = [this, &control](FocusState state) {
        if (events_.focus_state && best_for(Feature::text_focus_state) == &control) {
            events_.focus_state(state);
        }
    };
    events.features = [this](const FeatureMap&) {
        if (events_.features) {
            events_.features(features());
        }
    };
    control.set_events(std::move(events));
}

FeatureMap ControlFacade::features() const {
    FeatureMap merged;
    for (std::size_t index = 0; index < feature_count; ++index) {
        const auto feature = static_cast<Feature>(index);
        FeatureState best = FeatureState::unsupported;
        for (const Member& member : members_) {
            const FeatureState state = member.control->feature_state(feature);
            if (rank(state) < rank(best)) {
                best = state;
            }
        }
        merged[feature] = best;
    }
    return merged;
}

FeatureState ControlFacade::feature_state(Feature feature) const {
    const Control* control = best_for(feature);
    return control != nullptr ? control->feature_state(feature) : FeatureState::unsupported;
}

Control* ControlFacade::best_for(Feature feature) const {
    Control* best = nullptr;
    FeatureState best_state = FeatureState::unsupported;
    for (const Member& member : members_) {
        const FeatureState state = member.control->feature_state(feature);
        if (best == nullptr || rank(state) < rank(best_state)) {
            best = member.control;
            best_state = state;
        }
    }
    return best_state == FeatureState::unsupported ? nullptr : best;
}

Control& ControlFacade::serving(Feature feature) const {
    Control* best = best_for(feature);
    if (best == nullptr) {
        throw Error(ErrorKind::not_supported,
                    "the connection cannot do " + std::string(to_string(feature)));
    }
    return *best;
}

const Control* ControlFacade::reporting() const {
    if (const Control* pushing = best_for(Feature::push_updates)) {
        return pushing;
    }
    return members_.empty() ? nullptr : members_.front().control;
}

const NowPlaying& ControlFacade::now_playing() const {
    const Control* control = reporting();
    return control != nullptr ? control->now_playing() : nothing_playing();
}

std::optional<double> ControlFacade::volume() const {
    const Control* control = best_for(Feature::volume);
    return control != nullptr ? control->volume() : std::nullopt;
}

PowerState ControlFacade::power_state() const {
    const Control* control = best_for(Feature::power_state);
    return control != nullptr ? control->power_state() : PowerState::unknown;
}

FocusState ControlFacade::focus_state() const {
    const Control* control = best_for(Feature::text_focus_state);
    return control != nullptr ? control->focus_state() : FocusState::unknown;
}

asio::awaitable<void> ControlFacade::press(Key key, InputAction action,
                                           std::optional<double> interval) {
    co_await serving(feature_of(key, action)).press(key, action, interval);
}

asio::awaitable<void> ControlFacade::set_position(std::chrono::microseconds position) {
    co_await serving(Feature::set_position).set_position(position);
}

asio::awaitable<void> ControlFacade::set_shuffle(ShuffleMode mode) {
    co_await serving(Feature::set_shuffle).set_shuffle(mode);
}

asio::awaitable<void> ControlFacade::set_repeat(RepeatMode mode) {
    co_await serving(Feature::set_repeat).set_repeat(mode);
}

asio::awaitable<Artwork> ControlFacade::artwork(std::uint32_t width, std::uint32_t height) {
    co_return co_await serving(Feature::artwork).artwork(width, height);
}

asio::awaitable<void> ControlFacade::set_volume(double volume) {
    co_await serving(Feature::set_volume).set_volume(volume);
}

asio::awaitable<void> ControlFacade::volume_up() {
    co_await serving(Feature::volume_up).volume_up();
}

asio::awaitable<void> ControlFacade::volume_down() {
    co_await serving(Feature::volume_down).volume_down();
}

asio::awaitable<void> ControlFacade::turn_on() {
    co_await serving(Feature::turn_on).turn_on();
}

asio::awaitable<void> ControlFacade::turn_off() {
    co_await serving(Feature::turn_off).turn_off();
}

asio::awaitable<std::vector<NamedItem>> ControlFacade::apps() {
    co_return co_await serving(Feature::app_list).apps();
}

asio::awaitable<void> ControlFacade::launch(std::string app) {
    co_await serving(Feature::launch_app).launch(std::move(app));
}

asio::awaitable<std::vector<NamedItem>> ControlFacade::accounts() {
    co_return co_await serving(Feature::account_list).accounts();
}

asio::awaitable<void> ControlFacade::switch_account(std::string identifier) {
    co_await serving(Feature::switch_account).switch_account(std::move(identifier));
}

asio::awaitable<std::string> ControlFacade::text() {
    co_return co_await serving(Feature::text_get).text();
}

asio::awaitable<void> ControlFacade::set_text(std::string text) {
    co_await serving(Feature::text_set).set_text(std::move(text));
}

asio::awaitable<void> ControlFacade::append_text(std::string text) {
    co_await serving(Feature::text_append).append_text(std::move(text));
}

asio::awaitable<void> ControlFacade::clear_text() {
    co_await serving(Feature::text_clear).clear_text();
}

}  // namespace atv
