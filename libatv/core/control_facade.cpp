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

FeatureState state_in(const FeatureMap& features, Feature feature) {
    const auto found = features.find(feature);
    return found == features.end() ? FeatureState::unsupported : found->second;
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
}

void ControlFacade::subscribe(Control& control) {
    ControlEvents events;
    events.now_playing = [this, &control](const NowPlaying& playing) {
        if (reporting() == &control && events_.now_playing) {
            events_.now_playing(playing);
        }
    };
    events.volume = [this, &control](std::optional<double> level) {
        if (events_.volume && &serving(Feature::volume) == &control) {
            events_.volume(level);
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
            const FeatureState state = state_in(member.control->features(), feature);
            if (rank(state) < rank(best)) {
                best = state;
            }
        }
        merged[feature] = best;
    }
    return merged;
}

Control& ControlFacade::serving(Feature feature) const {
    Control* best = nullptr;
    FeatureState best_state = FeatureState::unsupported;
    for (const Member& member : members_) {
        const FeatureState state = state_in(member.control->features(), feature);
        if (best == nullptr || rank(state) < rank(best_state)) {
            best = member.control;
            best_state = state;
        }
    }
    if (best == nullptr || best_state == FeatureState::unsupported) {
        throw Error(ErrorKind::not_supported,
                    "the connection cannot do " + std::string(to_string(feature)));
    }
    return *best;
}

const Control* ControlFacade::reporting() const {
    const Control* best = nullptr;
    FeatureState best_state = FeatureState::unsupported;
    for (const Member& member : members_) {
        const FeatureState state = state_in(member.control->features(), Feature::push_updates);
        if (best == nullptr || rank(state) < rank(best_state)) {
            best = member.control;
            best_state = state;
        }
    }
    return best;
}

const NowPlaying& ControlFacade::now_playing() const {
    const Control* control = reporting();
    return control != nullptr ? control->now_playing() : nothing_playing();
}

std::optional<double> ControlFacade::volume() const {
    try {
        return serving(Feature::volume).volume();
    } catch (const Error&) {
        return std::nullopt;
    }
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

}  // namespace atv
