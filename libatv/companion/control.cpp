#include "companion/control.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>
#include <cmath>
#include <limits>

#include "atv/error.hpp"
#include "mrp/player_state.hpp"

namespace atv::companion {

namespace {

constexpr std::int64_t button_down = 1;
constexpr std::int64_t button_up = 2;

// The keys a remote's buttons carry over `_hidC`.
std::optional<HidButton> hid_button(Key key) {
    switch (key) {
        case Key::up:
            return HidButton::up;
        case Key::down:
            return HidButton::down;
        case Key::left:
            return HidButton::left;
        case Key::right:
            return HidButton::right;
        case Key::select:
            return HidButton::select;
        case Key::menu:
            return HidButton::menu;
        case Key::home:
            return HidButton::home;
        case Key::volume_up:
            return HidButton::volume_up;
        case Key::volume_down:
            return HidButton::volume_down;
        case Key::channel_up:
            return HidButton::channel_up;
        case Key::channel_down:
            return HidButton::channel_down;
        case Key::screensaver:
            return HidButton::screensaver;
        case Key::play_pause:
            return HidButton::play_pause;
        default:
            return std::nullopt;
    }
}

struct MediaKey {
    MediaCommand command;
    std::uint32_t flag;
};

// The keys that are `_mcc` commands, and the `_mcF` bit that makes each usable.
std::optional<MediaKey> media_key(Key key) {
    switch (key) {
        case Key::play:
            return MediaKey{MediaCommand::play, media_control_flag::play};
        case Key::pause:
            return MediaKey{MediaCommand::pause, media_control_flag::pause};
        case Key::next:
            return MediaKey{MediaCommand::next_track, media_control_flag::next_track};
        case Key::previous:
            return MediaKey{MediaCommand::previous_track, media_control_flag::previous_track};
        default:
            return std::nullopt;
    }
}

// "scheme:..." opens a URL; a bundle id has no colon.
bool looks_like_url(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
        return false;
    if (std::isalpha(static_cast<unsigned char>(text[0])) == 0)
        return false;
    return std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
    });
}

// A broken channel is a lost connection to whoever controls the device.
[[noreturn]] void rethrow_as_control_error(const Error& error) {
    if (error.kind() == ErrorKind::connection_failed)
        throw Error(ErrorKind::connection_lost, error.what());
    throw error;
}

OpackValue button(HidButton which, std::int64_t state) {
    return OpackDict{{"_hBtS", state}, {"_hidC", static_cast<std::int64_t>(which)}};
}

std::string feature_name(Feature feature) {
    return std::string(to_string(feature));
}

}  // namespace

std::optional<AttentionState> attention_state_from(std::int64_t state) {
    if (state < static_cast<std::int64_t>(AttentionState::asleep) ||
        state > static_cast<std::int64_t>(AttentionState::idle)) {
        return std::nullopt;
    }
    return static_cast<AttentionState>(state);
}

PowerState power_state_of(std::optional<AttentionState> attention) {
    if (!attention)
        return PowerState::unknown;
    return *attention == AttentionState::asleep ? PowerState::off : PowerState::on;
}

FocusState text_focus_of(const OpackValue* content) {
    return content != nullptr && content->find("_tiD") != nullptr ? FocusState::focused
                                                                  : FocusState::unfocused;
}

bool keep_pushed_event(const OpackValue& message, CompanionPushedState& pushed) {
    if (message.int_at("_t") != static_cast<std::int64_t>(MessageKind::event))
        return false;
    const auto identifier = message.string_at("_i").value_or("");
    const OpackValue* content = message.find("_c");
    if (identifier == "_iMC") {
        const auto flags = content != nullptr ? content->int_at("_mcF") : std::nullopt;
        if (!flags || *flags < 0 || *flags > std::numeric_limits<std::uint32_t>::max()) {
            spdlog::debug("companion: an _iMC event without valid _mcF");
            return false;
        }
        pushed.media_control_flags = static_cast<std::uint32_t>(*flags);
        return true;
    }
    if (identifier == "_tiStarted" || identifier == "_tiStopped") {
        pushed.text_focus =
            identifier == "_tiStarted" ? text_focus_of(content) : FocusState::unfocused;
        return true;
    }
    if (identifier == "SystemStatus" || identifier == "TVSystemStatus") {
        const auto state = content != nullptr ? content->int_at("state") : std::nullopt;
        const auto attention = state ? attention_state_from(*state) : std::nullopt;
        if (!attention) {
            spdlog::debug("companion: a {} event without a known state", identifier);
            return false;
        }
        pushed.system_status = attention;
        return true;
    }
    return false;
}

CompanionControl::CompanionControl(std::shared_ptr<CompanionChannel> channel,
                                   std::shared_ptr<CompanionPushedState> pushed,
                                   std::optional<AttentionState> attention,
                                   CompanionControlOptions options)
    : channel_(std::move(channel)), pushed_(std::move(pushed)), options_(options) {
    // A status pushed during the introduction is newer than the answer to the query.
    power_ = power_state_of(pushed_->system_status ? pushed_->system_status : attention);
    last_told_power_ = power_;
    last_told_focus_ = pushed_->text_focus;
    channel_->on_event([this](const OpackValue& message) { handle(message); });
}

void CompanionControl::set_events(ControlEvents events) {
    events_ = std::move(events);
    if (events_.volume && flag_set(media_control_flag::volume) && !volume_)
        asio::co_spawn(channel_->executor(), refresh_volume(), asio::detached);
}

CompanionControl::~CompanionControl() {
    *alive_ = false;
    // The pushed state stays the connection's to read; keep it current without this object.
    channel_->on_event(
        [pushed = pushed_](const OpackValue& message) { keep_pushed_event(message, *pushed); });
}

void CompanionControl::handle(const OpackValue& message) {
    const auto flags_before = pushed_->media_control_flags;
    const FocusState focus_before = pushed_->text_focus;
    if (!keep_pushed_event(message, *pushed_)) {
        spdlog::debug("companion: ignoring the device's {}", message.string_at("_i").value_or(""));
        return;
    }
    const auto identifier = message.string_at("_i").value_or("");
    if (identifier == "SystemStatus" || identifier == "TVSystemStatus") {
        set_power(power_state_of(pushed_->system_status));
        return;
    }
    if (identifier == "_tiStarted" || identifier == "_tiStopped") {
        const FocusState now = pushed_->text_focus;
        pushed_->text_focus = focus_before;
        set_focus(now);
        return;
    }
    if (pushed_->media_control_flags == flags_before)
        return;
    spdlog::debug("companion: media control flags {:#x}", *pushed_->media_control_flags);
    report_features();
    if (flag_set(media_control_flag::volume)) {
        if (events_.volume)
            asio::co_spawn(channel_->executor(), refresh_volume(), asio::detached);
    } else if (volume_) {
        volume_.reset();
        report_volume();
    }
}

// ---- events ----

// Each change is queued for the listener; a device that flaps faster than the loop tells them
// has its oldest untold changes dropped, so what waits stays bounded and the latest is told.
void CompanionControl::set_power(PowerState state) {
    if (state == power_)
        return;
    power_ = state;
    const bool post = pending_power_.empty();
    pending_power_.push_back(state);
    while (pending_power_.size() > std::max<std::size_t>(options_.max_pending_power_events, 1))
        pending_power_.pop_front();
    if (post) {
        asio::post(channel_->executor(), [this, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.expired())
                flush_power_events();
        });
    }
}

void CompanionControl::flush_power_events() {
    std::deque<PowerState> pending;
    pending.swap(pending_power_);
    for (const PowerState state : pending) {
        if (state == last_told_power_)
            continue;
        last_told_power_ = state;
        if (events_.power_state)
            events_.power_state(state);
    }
}

// Like power, a focus that flaps faster than the loop tells it is told once, as it is then.
void CompanionControl::set_focus(FocusState focus) {
    if (focus == pushed_->text_focus)
        return;
    const bool post = pushed_->text_focus == last_told_focus_;
    pushed_->text_focus = focus;
    spdlog::debug("companion: text field {}", to_string(focus));
    if (!post)
        return;
    asio::post(channel_->executor(), [this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.expired() || pushed_->text_focus == last_told_focus_)
            return;
        last_told_focus_ = pushed_->text_focus;
        if (events_.focus_state)
            events_.focus_state(last_told_focus_);
        if (events_.features)
            events_.features(features());
    });
}

void CompanionControl::report_features() {
    asio::post(channel_->executor(), [this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired() && events_.features)
            events_.features(features());
    });
}

void CompanionControl::report_volume() {
    asio::post(channel_->executor(), [this, alive = std::weak_ptr<bool>(alive_), level = volume_] {
        if (!alive.expired() && events_.volume)
            events_.volume(level);
    });
}

// ---- features ----

bool CompanionControl::flag_set(std::uint32_t flag) const {
    return pushed_->media_control_flags && (*pushed_->media_control_flags & flag) != 0;
}

FeatureMap CompanionControl::features() const {
    FeatureMap features;
    for (std::size_t index = 0; index < feature_count; ++index)
        features[static_cast<Feature>(index)] = FeatureState::unsupported;
    for (const Feature always :
         {Feature::up,           Feature::down,          Feature::left,
          Feature::right,        Feature::select,        Feature::menu,
          Feature::home,         Feature::volume_up,     Feature::volume_down,
          Feature::channel_up,   Feature::channel_down,  Feature::screensaver,
          Feature::play_pause,   Feature::power_state,   Feature::turn_on,
          Feature::turn_off,     Feature::app_list,      Feature::launch_app,
          Feature::account_list, Feature::switch_account}) {
        features[always] = FeatureState::available;
    }
    const auto by_flag = [&](Feature feature, std::uint32_t flag) {
        features[feature] = flag_set(flag) ? FeatureState::available : FeatureState::unsupported;
    };
    by_flag(Feature::play, media_control_flag::play);
    by_flag(Feature::pause, media_control_flag::pause);
    by_flag(Feature::next, media_control_flag::next_track);
    by_flag(Feature::previous, media_control_flag::previous_track);
    by_flag(Feature::set_volume, media_control_flag::volume);
    features[Feature::volume] = flag_set(media_control_flag::volume) && volume_
                                    ? FeatureState::available
                                    : FeatureState::unsupported;
    features[Feature::text_focus_state] = pushed_->text_focus == FocusState::unknown
                                              ? FeatureState::unknown
                                              : FeatureState::available;
    const FeatureState editing = pushed_->text_focus == FocusState::focused
                                     ? FeatureState::available
                                     : FeatureState::unavailable;
    for (const Feature text :
         {Feature::text_get, Feature::text_set, Feature::text_append, Feature::text_clear})
        features[text] = editing;
    return features;
}

std::optional<double> CompanionControl::volume() const {
    return flag_set(media_control_flag::volume) ? volume_ : std::nullopt;
}

// ---- requests ----
//
// Coroutines are named, then awaited: GCC 12 mishandles temporaries (and string literals
// turned into parameters) inside a co_await expression.

asio::awaitable<OpackValue> CompanionControl::request(std::string identifier, OpackValue content,
                                                      ErrorKind refusal_kind) {
    auto channel = channel_;
    const std::weak_ptr<bool> alive = alive_;
    const auto timeout = options_.request_timeout;
    std::optional<Error> failure;
    OpackValue reply;
    try {
        reply = co_await channel->exchange_opack(identifier, std::move(content), timeout);
    } catch (const Error& error) {
        failure = error;
    }
    if (failure)
        rethrow_as_control_error(*failure);
    if (alive.expired())
        throw Error(ErrorKind::connection_lost, "the connection was closed");
    if (reply.find("_em") != nullptr) {
        const std::string reason = mrp::PlayerState::sanitize(
            reply.string_at("_em").value_or("no reason given"), options_.max_name_bytes);
        throw Error(refusal_kind, "the Apple TV refused " + identifier + ": " + reason);
    }
    const OpackValue* answer = reply.find("_c");
    co_return answer != nullptr ? *answer : OpackValue(OpackDict{});
}

asio::awaitable<void> CompanionControl::press_button(HidButton which, InputAction action) {
    const int presses = action == InputAction::double_tap ? 2 : 1;
    for (int press = 0; press < presses; ++press) {
        auto pressing = request("_hidC", button(which, button_down));
        co_await std::move(pressing);
        if (action == InputAction::hold) {
            const std::weak_ptr<bool> alive = alive_;
            asio::steady_timer held(channel_->executor(), options_.hold_time);
            std::error_code ec;
            co_await held.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (alive.expired())
                throw Error(ErrorKind::connection_lost, "the connection was closed");
        }
        auto releasing = request("_hidC", button(which, button_up));
        co_await std::move(releasing);
    }
}

asio::awaitable<void> CompanionControl::media_command(MediaCommand command, Feature feature,
                                                      OpackDict arguments) {
    if (features()[feature] != FeatureState::available) {
        throw Error(ErrorKind::not_supported,
                    "the Apple TV offers no " + feature_name(feature) + " over Companion now");
    }
    OpackDict content{{"_mcc", static_cast<std::int64_t>(command)}};
    for (auto& argument : arguments)
        content.push_back(std::move(argument));
    auto commanding = request("_mcc", std::move(content));
    co_await std::move(commanding);
}

asio::awaitable<void> CompanionControl::press(Key key, InputAction action,
                                              std::optional<double> /*interval*/) {
    if (const auto hid = hid_button(key)) {
        if (key == Key::home && action == InputAction::hold) {
            throw Error(ErrorKind::not_supported, "Companion cannot hold the home key");
        }
        co_await press_button(*hid, action);
        co_return;
    }
    if (action != InputAction::single) {
        throw Error(ErrorKind::invalid_arguments, "the key " + std::string(to_string(key)) +
                                                      " takes only a single press, not " +
                                                      std::string(to_string(action)));
    }
    if (const auto media = media_key(key)) {
        auto commanding = media_command(media->command, feature_of(key, action));
        co_await std::move(commanding);
        co_return;
    }
    throw Error(ErrorKind::not_supported, "Companion has no key " + std::string(to_string(key)));
}

asio::awaitable<void> CompanionControl::set_position(std::chrono::microseconds /*position*/) {
    throw Error(ErrorKind::not_supported, "Companion cannot set the position");
    co_return;
}

asio::awaitable<void> CompanionControl::set_shuffle(ShuffleMode /*mode*/) {
    throw Error(ErrorKind::not_supported, "Companion cannot set shuffle");
    co_return;
}

asio::awaitable<void> CompanionControl::set_repeat(RepeatMode /*mode*/) {
    throw Error(ErrorKind::not_supported, "Companion cannot set repeat");
    co_return;
}

asio::awaitable<Artwork> CompanionControl::artwork(std::uint32_t /*width*/,
                                                   std::uint32_t /*height*/) {
    throw Error(ErrorKind::not_supported, "Companion carries no artwork");
    co_return Artwork{};
}

// ---- volume ----

asio::awaitable<void> CompanionControl::refresh_volume() {
    if (volume_fetching_)
        co_return;
    volume_fetching_ = true;
    const std::weak_ptr<bool> alive = alive_;
    std::optional<double> level;
    try {
        auto asking = request(
            "_mcc", OpackDict{{"_mcc", static_cast<std::int64_t>(MediaCommand::get_volume)}});
        const OpackValue reply = co_await std::move(asking);
        const OpackValue* value = reply.find("_vol");
        if (value != nullptr && value->is<double>())
            level = *value->get_if<double>();
        else if (value != nullptr && value->is<std::int64_t>())
            level = static_cast<double>(*value->get_if<std::int64_t>());
    } catch (const Error& error) {
        spdlog::debug("companion: fetching the volume: {}", error.what());
    }
    if (alive.expired())
        co_return;
    volume_fetching_ = false;
    if (!level || !std::isfinite(*level) || *level < 0.0 || *level > 1.0) {
        spdlog::debug("companion: the device sent no usable volume");
        co_return;
    }
    const bool had_volume = volume_.has_value();
    volume_ = *level * 100.0;
    report_volume();
    if (!had_volume)
        report_features();
}

asio::awaitable<void> CompanionControl::set_volume(double level) {
    if (!std::isfinite(level) || level < 0.0 || level > 100.0)
        throw Error(ErrorKind::invalid_arguments, "the volume must be from 0 to 100");
    auto setting = media_command(MediaCommand::set_volume, Feature::set_volume,
                                 OpackDict{{"_vol", level / 100.0}});
    co_await std::move(setting);
    co_await refresh_volume();
}

asio::awaitable<void> CompanionControl::volume_up() {
    co_await press_button(HidButton::volume_up, InputAction::single);
    if (flag_set(media_control_flag::volume))
        co_await refresh_volume();
}

asio::awaitable<void> CompanionControl::volume_down() {
    co_await press_button(HidButton::volume_down, InputAction::single);
    if (flag_set(media_control_flag::volume))
        co_await refresh_volume();
}

// ---- power ----

asio::awaitable<void> CompanionControl::turn_on() {
    co_await press_button(HidButton::wake, InputAction::single);
}

asio::awaitable<void> CompanionControl::turn_off() {
    co_await press_button(HidButton::sleep, InputAction::single);
}

// ---- apps and accounts ----

// A map of identifier to name, as the device sends apps and accounts, made into a list:
// at most max_items entries, identifiers and names cut and made valid UTF-8.
asio::awaitable<std::vector<NamedItem>> CompanionControl::fetch_list(std::string identifier,
                                                                     const char* what) {
    std::optional<Error> failure;
    OpackValue reply;
    try {
        auto fetching = request(identifier, OpackDict{});
        reply = co_await std::move(fetching);
    } catch (const Error& error) {
        failure = error;
    }
    if (failure && failure->kind() == ErrorKind::timeout) {
        throw Error(ErrorKind::timeout,
                    std::string("the Apple TV did not send its ") + what + " within " +
                        std::to_string(options_.request_timeout.count()) + " ms");
    }
    if (failure)
        throw *failure;
    const auto* entries = reply.get_if<OpackDict>();
    if (entries == nullptr) {
        throw Error(ErrorKind::not_supported,
                    std::string("the Apple TV sent its ") + what + " in a form atvd does not know");
    }
    std::vector<NamedItem> items;
    items.reserve(std::min(entries->size(), options_.max_items));
    for (const auto& [key, value] : *entries) {
        if (items.size() >= options_.max_items) {
            spdlog::warn("companion: the device's {} has {} entries; keeping the first {}", what,
                         entries->size(), options_.max_items);
            break;
        }
        const auto* id = key.get_if<std::string>();
        const auto* name = value.get_if<std::string>();
        if (id == nullptr || id->empty())
            continue;
        NamedItem item;
        item.identifier = mrp::PlayerState::sanitize(*id, options_.max_name_bytes);
        item.name =
            name != nullptr ? mrp::PlayerState::sanitize(*name, options_.max_name_bytes) : "";
        items.push_back(std::move(item));
    }
    co_return items;
}

asio::awaitable<std::vector<NamedItem>> CompanionControl::apps() {
    auto fetching = fetch_list("FetchLaunchableApplicationsEvent", "app list");
    co_return co_await std::move(fetching);
}

asio::awaitable<void> CompanionControl::launch(std::string app) {
    if (app.empty())
        throw Error(ErrorKind::invalid_arguments, "launch needs a bundle id or a URL");
    const char* key = looks_like_url(app) ? "_urlS" : "_bundleID";
    auto launching =
        request("_launchApp", OpackDict{{key, std::move(app)}}, ErrorKind::invalid_arguments);
    co_await std::move(launching);
}

asio::awaitable<std::vector<NamedItem>> CompanionControl::accounts() {
    auto fetching = fetch_list("FetchUserAccountsEvent", "account list");
    co_return co_await std::move(fetching);
}

asio::awaitable<void> CompanionControl::switch_account(std::string identifier) {
    if (identifier.empty())
        throw Error(ErrorKind::invalid_arguments, "switching accounts needs an account id");
    auto switching =
        request("SwitchUserAccountEvent", OpackDict{{"SwitchAccountID", std::move(identifier)}},
                ErrorKind::invalid_arguments);
    co_await std::move(switching);
}

// ---- text input ----

asio::awaitable<TextInputSession> CompanionControl::text_session() {
    auto channel = channel_;
    const std::weak_ptr<bool> alive = alive_;
    const auto timeout = options_.request_timeout;
    const std::string stop = "_tiStop";
    const std::string start = "_tiStart";
    std::optional<Error> failure;
    OpackValue reply;
    try {
        // A device without a session refuses the stop; that changes nothing.
        auto stopping = channel->exchange_opack(stop, OpackDict{}, timeout);
        co_await std::move(stopping);
        auto starting = channel->exchange_opack(start, OpackDict{}, timeout);
        reply = co_await std::move(starting);
    } catch (const Error& error) {
        failure = error;
    }
    if (failure)
        rethrow_as_control_error(*failure);
    if (alive.expired())
        throw Error(ErrorKind::connection_lost, "the connection was closed");
    if (reply.find("_em") != nullptr) {
        const std::string reason = mrp::PlayerState::sanitize(
            reply.string_at("_em").value_or("no reason given"), options_.max_name_bytes);
        throw Error(ErrorKind::not_supported, "the Apple TV refused text input: " + reason);
    }
    const OpackValue* content = reply.find("_c");
    const auto archive = content != nullptr ? content->bytes_at("_tiD") : std::nullopt;
    set_focus(text_focus_of(content));
    if (!archive)
        throw Error(ErrorKind::not_supported, "no text field is focused on the Apple TV");
    co_return decode_text_input_session(*archive, options_.text_input);
}

void CompanionControl::send_text_edit(Bytes archive) {
    channel_->send_event("_tiC",
                         OpackDict{{"_tiV", std::int64_t{1}}, {"_tiD", std::move(archive)}});
}

asio::awaitable<std::string> CompanionControl::text() {
    auto starting = text_session();
    TextInputSession session = co_await std::move(starting);
    if (session.text_over_limit) {
        throw Error(ErrorKind::not_supported,
                    "the Apple TV's text field holds " + std::to_string(session.text_bytes) +
                        " bytes, more than the " +
                        std::to_string(options_.text_input.max_text_bytes) + " atvd reads");
    }
    co_return std::move(session.text);
}

asio::awaitable<void> CompanionControl::set_text(std::string text) {
    auto starting = text_session();
    const TextInputSession session = co_await std::move(starting);
    Bytes insert = text.empty() ? Bytes{} : encode_text_insert(session.session_uuid, text);
    send_text_edit(encode_text_clear(session.session_uuid));
    if (!insert.empty())
        send_text_edit(std::move(insert));
}

asio::awaitable<void> CompanionControl::append_text(std::string text) {
    auto starting = text_session();
    const TextInputSession session = co_await std::move(starting);
    if (!text.empty())
        send_text_edit(encode_text_insert(session.session_uuid, text));
}

asio::awaitable<void> CompanionControl::clear_text() {
    auto starting = text_session();
    const TextInputSession session = co_await std::move(starting);
    send_text_edit(encode_text_clear(session.session_uuid));
}

}  // namespace atv::companion
