// The checks of what callers send to RemoteControl1, Player1 and Audio1
// (daemon/control_arguments.hpp), without a bus: what each accepts, and that everything else is
// org.atvd.Error.InvalidArguments naming the culprit.
#include "control_arguments.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace {

using Dict = std::map<std::string, sdbus::Variant>;
const std::string invalid = "org.atvd.Error.InvalidArguments: ";

// The error's name and message, or "" when `call` returns.
std::string rejection(const std::function<void()>& call) {
    try {
        call();
    } catch (const sdbus::Error& error) {
        return error.getName() + ": " + error.getMessage();
    }
    return "";
}

TEST(ControlArguments, EveryKeyOfTheApiIsKnown) {
    for (const char* name : {"up",         "down",        "left",         "right",
                             "select",     "menu",        "home",         "top_menu",
                             "play",       "pause",       "play_pause",   "stop",
                             "next",       "previous",    "skip_forward", "skip_backward",
                             "volume_up",  "volume_down", "channel_up",   "channel_down",
                             "screensaver"}) {
        EXPECT_EQ(atv::to_string(atvd::key_argument(name)), name);
    }
}

TEST(ControlArguments, AnUnknownKeyIsNamed) {
    const std::string error = rejection([] { atvd::key_argument("Select"); });
    EXPECT_TRUE(error.starts_with(invalid + "unknown key 'Select' (known: up, down,")) << error;
    EXPECT_EQ(rejection([] { atvd::key_argument(""); }).find("unknown key ''"), invalid.size());
}

TEST(ControlArguments, PressOptionsDefaultToASinglePress) {
    const atvd::PressOptions parsed = atvd::parse_press_options(atv::Key::select, {});
    EXPECT_EQ(parsed.action, atv::InputAction::single);
    EXPECT_FALSE(parsed.interval);
}

TEST(ControlArguments, PressOptionsTakeActionAndInterval) {
    EXPECT_EQ(atvd::parse_press_options(atv::Key::menu, {{"Action", std::string("double")}}).action,
              atv::InputAction::double_tap);
    EXPECT_EQ(atvd::parse_press_options(atv::Key::home, {{"Action", std::string("hold")}}).action,
              atv::InputAction::hold);
    const auto skip = atvd::parse_press_options(
        atv::Key::skip_forward, {{"Action", std::string("single")}, {"Interval", 15.0}});
    EXPECT_EQ(skip.action, atv::InputAction::single);
    EXPECT_EQ(skip.interval, 15.0);
    EXPECT_EQ(atvd::parse_press_options(atv::Key::skip_backward, {{"Interval", 0.5}}).interval,
              0.5);
}

TEST(ControlArguments, PressOptionsRefuseWhatTheyDoNotKnow) {
    EXPECT_EQ(rejection([] {
                  atvd::parse_press_options(atv::Key::up, {{"Repeat", std::uint32_t{2}}});
              }),
              invalid + "unknown option 'Repeat' (known: Action, Interval)");
    EXPECT_EQ(rejection([] {
                  atvd::parse_press_options(atv::Key::up, {{"Action", std::string("triple")}});
              }),
              invalid + "unknown action 'triple' (known: single, double, hold)");
    EXPECT_EQ(rejection([] {
                  atvd::parse_press_options(atv::Key::up, {{"Action", std::uint32_t{1}}});
              }),
              invalid + "option 'Action' must be of type 's'");
}

TEST(ControlArguments, IntervalIsForSkipKeysOnlyAndPositive) {
    EXPECT_EQ(rejection([] {
                  atvd::parse_press_options(atv::Key::play, {{"Interval", 10.0}});
              }),
              invalid + "option 'Interval' is for skip_forward and skip_backward only, not play");
    EXPECT_EQ(
        rejection([] {
            atvd::parse_press_options(atv::Key::skip_forward, {{"Interval", std::uint32_t{10}}});
        }),
        invalid + "option 'Interval' must be of type 'd' (seconds)");
    for (const double bad : {0.0, -5.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
        EXPECT_EQ(rejection([&] {
                      atvd::parse_press_options(atv::Key::skip_backward, {{"Interval", bad}});
                  }),
                  invalid + "option 'Interval' must be a number of seconds greater than zero")
            << bad;
    }
}

// pyatv names a key's feature as the key in CamelCase (top_menu: TopMenu); home held is HomeHold.
std::string camel_case(std::string_view name) {
    std::string out;
    bool upper = true;
    for (const char c : name) {
        if (c == '_') {
            upper = true;
            continue;
        }
        out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        upper = false;
    }
    return out;
}

TEST(ControlArguments, EveryKeyNeedsTheFeatureOfItsName) {
    for (int index = 0; index <= static_cast<int>(atv::Key::screensaver); ++index) {
        const auto key = static_cast<atv::Key>(index);
        for (const auto action :
             {atv::InputAction::single, atv::InputAction::double_tap, atv::InputAction::hold}) {
            const std::string expected = key == atv::Key::home && action == atv::InputAction::hold
                                             ? "HomeHold"
                                             : camel_case(atv::to_string(key));
            EXPECT_EQ(atv::to_string(atv::feature_of(key, action)), expected)
                << atv::to_string(key);
        }
    }
}

TEST(ControlArguments, ShuffleAndRepeatModes) {
    EXPECT_EQ(atvd::shuffle_argument("off"), atv::ShuffleMode::off);
    EXPECT_EQ(atvd::shuffle_argument("songs"), atv::ShuffleMode::songs);
    EXPECT_EQ(atvd::shuffle_argument("albums"), atv::ShuffleMode::albums);
    EXPECT_EQ(atvd::repeat_argument("off"), atv::RepeatMode::off);
    EXPECT_EQ(atvd::repeat_argument("track"), atv::RepeatMode::track);
    EXPECT_EQ(atvd::repeat_argument("all"), atv::RepeatMode::all);
    EXPECT_EQ(rejection([] { atvd::shuffle_argument("on"); }),
              invalid + "unknown shuffle mode 'on' (known: off, songs, albums)");
    EXPECT_EQ(rejection([] { atvd::repeat_argument("one"); }),
              invalid + "unknown repeat mode 'one' (known: off, track, all)");
}

TEST(ControlArguments, PositionAndVolumeRanges) {
    EXPECT_EQ(atvd::position_argument(90'000'000).count(), 90'000'000);
    EXPECT_EQ(rejection([] {
                  atvd::position_argument(std::numeric_limits<std::uint64_t>::max());
              }).find(invalid + "position "),
              0U);
    EXPECT_EQ(atvd::volume_argument(0), 0);
    EXPECT_EQ(atvd::volume_argument(42.5), 42.5);
    EXPECT_EQ(atvd::volume_argument(100), 100);
    for (const double bad : {-0.1, 100.5, std::nan("")}) {
        EXPECT_EQ(rejection([&] { atvd::volume_argument(bad); }),
                  invalid + "volume must be a number from 0 to 100")
            << bad;
    }
}

}  // namespace
