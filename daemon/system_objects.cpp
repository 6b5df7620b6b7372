#include "system_objects.hpp"

#include <utility>

#include "control_interface.hpp"
#include "control_objects.hpp"
#include "org.atvd.Apps1.adaptor.h"
#include "org.atvd.Keyboard1.adaptor.h"
#include "org.atvd.Power1.adaptor.h"
#include "properties.hpp"
#include "system_control.hpp"

namespace atvd {

class PowerObject final : public ControlInterface<org::atvd::Power1_adaptor> {
  public:
    PowerObject(Context& context, const std::string& path, std::shared_ptr<ControlState> state)
        : ControlInterface(context, path, std::move(state)) {
        registerAdaptor();
    }

  private:
    void TurnOn(sdbus::Result<>&& result) override {
        guarded([&] {
            require_admin("TurnOn");
            state_->require(atv::Feature::turn_on);
            reply_when_done(std::move(result), [state = state_]() -> asio::awaitable<void> {
                co_await state->connected().turn_on();
            });
        });
    }

    void TurnOff(sdbus::Result<>&& result) override {
        guarded([&] {
            require_admin("TurnOff");
            state_->require(atv::Feature::turn_off);
            reply_when_done(std::move(result), [state = state_]() -> asio::awaitable<void> {
                co_await state->connected().turn_off();
            });
        });
    }

    std::string PowerState() override { return std::string(atv::to_string(state_->power_state)); }
};

class AppsObject final : public ControlInterface<org::atvd::Apps1_adaptor> {
  public:
    AppsObject(Context& context, const std::string& path, std::shared_ptr<ControlState> state)
        : ControlInterface(context, path, std::move(state)) {
        registerAdaptor();
    }

  private:
    void ListApps(sdbus::Result<NamedItemList>&& result) override {
        guarded([&] {
            require_admin("ListApps");
            state_->require(atv::Feature::app_list);
            reply_when_done(std::move(result),
                            [state = state_]() -> asio::awaitable<NamedItemList> {
                                co_return named_item_list(co_await state->connected().apps());
                            });
        });
    }

    void Launch(sdbus::Result<>&& result, std::string app) override {
        guarded([&] {
            require_admin("Launch");
            app_argument(app);
            state_->require(atv::Feature::launch_app);
            reply_when_done(std::move(result),
                            [state = state_, app = std::move(app)]() -> asio::awaitable<void> {
                                co_await state->connected().launch(app);
                            });
        });
    }

    void ListAccounts(sdbus::Result<NamedItemList>&& result) override {
        guarded([&] {
            require_admin("ListAccounts");
            state_->require(atv::Feature::account_list);
            reply_when_done(std::move(result),
                            [state = state_]() -> asio::awaitable<NamedItemList> {
                                co_return named_item_list(co_await state->connected().accounts());
                            });
        });
    }

    void SwitchAccount(sdbus::Result<>&& result, std::string identifier) override {
        guarded([&] {
            require_admin("SwitchAccount");
            account_argument(identifier);
            state_->require(atv::Feature::switch_account);
            reply_when_done(
                std::move(result),
                [state = state_, identifier = std::move(identifier)]() -> asio::awaitable<void> {
                    co_await state->connected().switch_account(identifier);
                });
        });
    }
};

class KeyboardObject final : public ControlInterface<org::atvd::Keyboard1_adaptor> {
  public:
    KeyboardObject(Context& context, const std::string& path, std::shared_ptr<ControlState> state)
        : ControlInterface(context, path, std::move(state)) {
        registerAdaptor();
    }

  private:
    void GetText(sdbus::Result<std::string>&& result) override {
        guarded([&] {
            require_admin("GetText");
            state_->require(atv::Feature::text_get);
            reply_when_done(std::move(result), [state = state_]() -> asio::awaitable<std::string> {
                co_return valid_utf8(co_await state->connected().text());
            });
        });
    }

    void SetText(sdbus::Result<>&& result, std::string text) override {
        guarded([&] {
            require_admin("SetText");
            text_argument(text);
            state_->require(atv::Feature::text_set);
            reply_when_done(std::move(result),
                            [state = state_, text = std::move(text)]() -> asio::awaitable<void> {
                                co_await state->connected().set_text(text);
                            });
        });
    }

    void AppendText(sdbus::Result<>&& result, std::string text) override {
        guarded([&] {
            require_admin("AppendText");
            text_argument(text);
            state_->require(atv::Feature::text_append);
            reply_when_done(std::move(result),
                            [state = state_, text = std::move(text)]() -> asio::awaitable<void> {
                                co_await state->connected().append_text(text);
                            });
        });
    }

    void ClearText(sdbus::Result<>&& result) override {
        guarded([&] {
            require_admin("ClearText");
            state_->require(atv::Feature::text_clear);
            reply_when_done(std::move(result), [state = state_]() -> asio::awaitable<void> {
                co_await state->connected().clear_text();
            });
        });
    }

    std::string FocusState() override { return std::string(atv::to_string(state_->focus_state)); }
};

SystemObjects::SystemObjects(Context& context, std::string path,
                             std::shared_ptr<ControlState> state)
    : context_(context), path_(std::move(path)), state_(std::move(state)) {}

void SystemObjects::sync(const ControlInterfaces& wanted, std::vector<std::string>& added,
                         std::vector<std::string>& removed) {
    // An interface that joins shows the state as it is now, not as it was when it last left.
    if (state_->control != nullptr) {
        if (wanted.power && power_ == nullptr) {
            state_->power_state = state_->control->power_state();
        }
        if (wanted.keyboard && keyboard_ == nullptr) {
            state_->focus_state = state_->control->focus_state();
        }
    }
    sync_one(power_, wanted.power, context_, path_, state_,
             org::atvd::Power1_adaptor::INTERFACE_NAME, added, removed);
    sync_one(apps_, wanted.apps, context_, path_, state_, org::atvd::Apps1_adaptor::INTERFACE_NAME,
             added, removed);
    sync_one(keyboard_, wanted.keyboard, context_, path_, state_,
             org::atvd::Keyboard1_adaptor::INTERFACE_NAME, added, removed);
}

void SystemObjects::show_power_state(atv::PowerState power) {
    if (power == state_->power_state) {
        return;
    }
    state_->power_state = power;
    if (power_ != nullptr) {
        ChangedProperties changed;
        changed.add("PowerState");
        changed.emit(context_.loop, power_->object(), org::atvd::Power1_adaptor::INTERFACE_NAME);
        context_.loop.kick();
    }
}

void SystemObjects::show_focus_state(atv::FocusState focus) {
    if (focus == state_->focus_state) {
        return;
    }
    state_->focus_state = focus;
    if (keyboard_ != nullptr) {
        ChangedProperties changed;
        changed.add("FocusState");
        changed.emit(context_.loop, keyboard_->object(),
                     org::atvd::Keyboard1_adaptor::INTERFACE_NAME);
        context_.loop.kick();
    }
}

}  // namespace atvd
