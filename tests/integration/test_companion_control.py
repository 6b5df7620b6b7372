"""Power1, Apps1 and Keyboard1 through D-Bus, and atvctl's power, apps, launch, accounts,
switch-account and text, against the fake Apple TV.

Power, apps, accounts and text input are Companion's: a device connected with MRP alone has none
of these interfaces. The tests that drive them pair Companion as well as MRP and script the
fake's Companion side (`power on|off`, `apps ID=NAME,...`, `accounts ID=NAME,...`); they are
skipped while the fake does not know those script lines yet (it answers `SCRIPT-ERROR cannot
read the script line` to a verb it does not know).
"""

import json
import os
import subprocess
import time

import pytest

from atvd_harness import DEVICE, ERROR_PREFIX, BusError, FakeAppleTV, pair_with_pin, run_as

POWER = "org.atvd.Power1"
APPS = "org.atvd.Apps1"
KEYBOARD = "org.atvd.Keyboard1"
SYSTEM_INTERFACES = {POWER, APPS, KEYBOARD}
FEATURES = {
    POWER: ("PowerState", "TurnOn", "TurnOff"),
    APPS: ("AppList", "LaunchApp", "AccountList", "SwitchAccount"),
    KEYBOARD: ("TextFocusState", "TextGet", "TextSet", "TextAppend", "TextClear"),
}
STRANGER = "atvd-stranger"
UNKNOWN_MEMBER = ("org.freedesktop.DBus.Error.UnknownMethod",
                  "org.freedesktop.DBus.Error.UnknownInterface",
                  "org.freedesktop.DBus.Error.UnknownObject")

_fake_count = iter(range(1, 100))


@pytest.fixture
def fake(fake):
    """A fake Apple TV with a name, identifier and MAC of its own in every test."""
    def start(*extra):
        number = next(_fake_count)
        return fake(f"System Room {number}", f"fake-atv-sys-{number:04d}",
                    f"AA:BB:CC:00:30:{number:02X}", *extra)
    return start


def script_answer(device, line, timeout=5):
    """Sends a script line and returns the fake's answer to it (SCRIPTED or SCRIPT-ERROR)."""
    device.send(line)
    return device.expect("SCRIPT", timeout)


_companion_script = {}


def fake_scripts_companion():
    """Whether the fake knows the Companion script lines; asked once, of a fake of its own."""
    if "known" not in _companion_script:
        probe = FakeAppleTV("System Probe", "fake-atv-sys-probe", "AA:BB:CC:00:30:FF")
        try:
            answer = script_answer(probe, "apps com.example.Probe=Probe")
        finally:
            probe.stop()
        _companion_script["known"] = not answer.startswith(
            "SCRIPT-ERROR cannot read the script line")
    return _companion_script["known"]


@pytest.fixture
def companion_fake(fake):
    """A fake whose Companion side can be scripted; the test is skipped while it cannot."""
    if not fake_scripts_companion():
        pytest.skip("the fake Apple TV has no Companion script lines (power, apps, accounts) yet")
    return fake


def atvctl(*args, timeout=60):
    return subprocess.run([os.environ["ATVCTL_BINARY"], *args], capture_output=True, text=True,
                          timeout=timeout)


def connected(client, device, *protocols):
    path = client.find(device.identifier, *protocols)
    for protocol in protocols:
        pair_with_pin(client, device, path, protocol)
    client.atvd(path, DEVICE, "Connect")
    assert sorted(client.get(path, DEVICE, "ConnectedProtocols")) == sorted(protocols)
    return path


def interfaces_at(client, path):
    return set(client.managed_objects().get(path, {}))


def changed_values(client, path, interface):
    return [{k: v.value for k, v in s.body[1].items()}
            for s in client.signals_named("PropertiesChanged", path) if s.body[0] == interface]


def expect_error(name, call, *args):
    with pytest.raises(BusError) as error:
        call(*args)
    assert error.value.name == name, error.value
    return error.value.text


# ---- what runs whatever the fake's Companion side can do ----

def test_mrp_alone_offers_no_power_apps_or_keyboard(client, fake):
    device = fake()
    path = connected(client, device, "mrp")
    features = client.get(path, DEVICE, "Features")
    for interface, names in FEATURES.items():
        assert all(features[name] == "unsupported" for name in names), (interface, features)
    assert not interfaces_at(client, path) & SYSTEM_INTERFACES
    assert "org.atvd.RemoteControl1" in interfaces_at(client, path)

    for interface, member, signature, body in (
            (POWER, "TurnOn", "", []), (APPS, "Launch", "s", ["com.apple.TVMusic"]),
            (KEYBOARD, "SetText", "s", ["hello"])):
        with pytest.raises(BusError) as error:
            client.atvd(path, interface, member, signature, body)
        assert error.value.name in UNKNOWN_MEMBER, error.value

    for args, what in ((["power", device.identifier], "power control"),
                       (["apps", device.identifier], "apps"),
                       (["launch", device.identifier, "com.apple.TVMusic"], "apps"),
                       (["accounts", device.identifier], "accounts"),
                       (["switch-account", device.identifier, "id2"], "accounts"),
                       (["text", device.identifier, "set", "hello"], "text input")):
        result = atvctl(*args)
        assert result.returncode == 1, result
        assert f"offers no {what}" in result.stderr, result.stderr
    client.pump(0.3)
    with pytest.raises(AssertionError):
        device.expect("LAUNCH ", timeout=0.3)


def test_a_device_not_connected_is_refused(client, fake):
    device = fake()
    client.find(device.identifier, "mrp")
    for args in (["power", device.identifier, "on"], ["apps", device.identifier],
                 ["text", device.identifier]):
        result = atvctl(*args)
        assert result.returncode == 1, result
        assert "not connected" in result.stderr


@pytest.mark.parametrize("args", [
    ["power"], ["power", "x", "maybe"], ["power", "x", "on", "off"],
    ["apps"], ["apps", "x", "y"], ["accounts"], ["accounts", "x", "y"],
    ["launch", "x"], ["launch", "x", ""], ["launch", "x", "a", "b"],
    ["switch-account", "x"], ["switch-account", "x", ""],
    ["text"], ["text", "x", "shout"], ["text", "x", "set"], ["text", "x", "append"],
    ["text", "x", "get", "extra"], ["text", "x", "clear", "extra"],
    ["text", "x", "set", "a", "b"],
])
def test_usage_errors_exit_2(args):
    result = atvctl(*args)
    assert result.returncode == 2, result
    assert "atvctl --help" in result.stderr


def test_the_bus_refuses_a_stranger_every_new_method(client, fake):
    device = fake()
    path = connected(client, device, "mrp")
    for interface, member, signature, body in (
            (POWER, "TurnOn", "", []), (POWER, "TurnOff", "", []), (APPS, "ListApps", "", []),
            (APPS, "Launch", "s", ["com.apple.TVMusic"]), (APPS, "ListAccounts", "", []),
            (APPS, "SwitchAccount", "s", ["id2"]), (KEYBOARD, "GetText", "", []),
            (KEYBOARD, "SetText", "s", ["hi"]), (KEYBOARD, "AppendText", "s", ["hi"]),
            (KEYBOARD, "ClearText", "", [])):
        called = run_as(STRANGER, "busctl", "--system", "call", "org.atvd", path, interface,
                        member, signature, *body)
        assert called.returncode != 0, (member, called)
        assert "Access denied" in called.stderr, (member, called.stderr)


# ---- with the fake's Companion side ----

def test_interfaces_come_with_companion_and_leave_with_close(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    features = client.get(path, DEVICE, "Features")
    present = interfaces_at(client, path) & SYSTEM_INTERFACES
    for interface, names in FEATURES.items():
        assert (interface in present) == any(features[name] != "unsupported" for name in names)
    assert {POWER, APPS} <= present

    client.signals.clear()
    client.atvd(path, DEVICE, "Close")
    assert not interfaces_at(client, path) & SYSTEM_INTERFACES

    def removed():
        names = set()
        for signal in client.signals_named("InterfacesRemoved"):
            if signal.body[0] == path:
                names |= set(signal.body[1]) & SYSTEM_INTERFACES
        return names
    client.wait_for(lambda: removed() == present, what="Power1, Apps1 and Keyboard1 withdrawn")


def test_power_state_and_turning_on_and_off(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert script_answer(device, "power on") == "SCRIPTED power"
    client.wait_for(lambda: client.get(path, POWER, "PowerState") == "on", what="power on")

    client.signals.clear()
    assert script_answer(device, "power off") == "SCRIPTED power"
    client.wait_for(lambda: client.get(path, POWER, "PowerState") == "off", what="power off")
    client.wait_for(lambda: changed_values(client, path, POWER), what="PowerState signalled")
    client.pump(0.3)
    assert changed_values(client, path, POWER) == [{"PowerState": "off"}]

    client.atvd(path, POWER, "TurnOn")
    assert device.expect("COMPANION HID 13 down", timeout=5)
    client.atvd(path, POWER, "TurnOff")
    assert device.expect("COMPANION HID 12 down", timeout=5)

    result = atvctl("power", device.identifier, "on")
    assert result.returncode == 0, result.stderr
    assert device.expect("COMPANION HID 13 down", timeout=5)
    result = atvctl("--json", "power", device.identifier)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["PowerState"] in ("on", "off")


def test_apps_list_and_launch(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert script_answer(device, "apps com.apple.TVMusic=Music,com.example=Example") == \
        "SCRIPTED apps"
    apps = client.atvd(path, APPS, "ListApps")[0]
    assert sorted(map(tuple, apps)) == [("com.apple.TVMusic", "Music"), ("com.example", "Example")]

    client.atvd(path, APPS, "Launch", "s", ["com.apple.TVMusic"])
    assert device.expect("LAUNCH ", timeout=5) == "LAUNCH com.apple.TVMusic"

    invalid = ERROR_PREFIX + "InvalidArguments"
    assert "empty" in expect_error(invalid, client.atvd, path, APPS, "Launch", "s", [""])
    assert "4096" in expect_error(invalid, client.atvd, path, APPS, "Launch", "s", ["a" * 5000])
    with pytest.raises(AssertionError):
        device.expect("LAUNCH ", timeout=0.5)

    result = atvctl("apps", device.identifier)
    assert result.returncode == 0, result.stderr
    assert "com.example" in result.stdout and "Example" in result.stdout
    result = atvctl("--json", "apps", device.identifier)
    assert {"Identifier": "com.apple.TVMusic", "Name": "Music"} in json.loads(result.stdout)["Apps"]
    result = atvctl("launch", device.identifier, "com.example")
    assert result.returncode == 0, result.stderr
    assert device.expect("LAUNCH ", timeout=5) == "LAUNCH com.example"


def test_accounts_list_and_switch(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert script_answer(device, "accounts id1=Alice,id2=Bob") == "SCRIPTED accounts"
    accounts = client.atvd(path, APPS, "ListAccounts")[0]
    assert sorted(map(tuple, accounts)) == [("id1", "Alice"), ("id2", "Bob")]

    client.atvd(path, APPS, "SwitchAccount", "s", ["id2"])
    assert device.expect("SWITCH-ACCOUNT ", timeout=5) == "SWITCH-ACCOUNT id2"
    expect_error(ERROR_PREFIX + "InvalidArguments", client.atvd, path, APPS, "SwitchAccount", "s",
                 [""])

    result = atvctl("accounts", device.identifier)
    assert result.returncode == 0, result.stderr
    assert "Alice" in result.stdout and "Bob" in result.stdout
    result = atvctl("switch-account", device.identifier, "id1")
    assert result.returncode == 0, result.stderr
    assert device.expect("SWITCH-ACCOUNT ", timeout=5) == "SWITCH-ACCOUNT id1"


def focus(client, device, path, focused):
    """Tells the fake's text field to take or lose the focus; waits for Keyboard1 to show it."""
    verb = "text-focus" if focused else "text-unfocus"
    assert script_answer(device, verb) == f"SCRIPTED {verb}"
    state = "focused" if focused else "unfocused"
    client.wait_for(lambda: client.get(path, KEYBOARD, "FocusState") == state, what=state)


def test_keyboard_follows_the_focus_the_device_pushes(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert KEYBOARD in interfaces_at(client, path)
    assert client.get(path, KEYBOARD, "FocusState") == "unfocused"
    features = client.get(path, DEVICE, "Features")
    assert features["TextFocusState"] == "available"
    assert all(features[name] == "unavailable"
               for name in ("TextGet", "TextSet", "TextAppend", "TextClear")), features
    not_supported = ERROR_PREFIX + "NotSupported"
    assert "TextGet" in expect_error(not_supported, client.atvd, path, KEYBOARD, "GetText")

    client.signals.clear()
    focus(client, device, path, True)
    client.wait_for(lambda: {"FocusState": "focused"} in changed_values(client, path, KEYBOARD),
                    what="FocusState signalled")
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["TextSet"] == "available",
                    what="text editing available")
    assert client.atvd(path, KEYBOARD, "GetText") == [""]

    client.signals.clear()
    focus(client, device, path, False)
    client.wait_for(lambda: {"FocusState": "unfocused"} in changed_values(client, path, KEYBOARD),
                    what="FocusState signalled")
    assert "TextSet" in expect_error(not_supported, client.atvd, path, KEYBOARD, "SetText", "s",
                                     ["lost"])
    with pytest.raises(AssertionError):
        device.expect("TEXT insert", timeout=0.5)


def test_keyboard_gets_sets_appends_and_clears_the_field(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert script_answer(device, "text-field Hello") == "SCRIPTED text-field"
    focus(client, device, path, True)
    assert client.atvd(path, KEYBOARD, "GetText") == ["Hello"]

    client.atvd(path, KEYBOARD, "AppendText", "s", [" wörld ☕"])
    assert device.expect("TEXT insert") == "TEXT insert  wörld ☕"
    assert client.atvd(path, KEYBOARD, "GetText") == ["Hello wörld ☕"]

    client.atvd(path, KEYBOARD, "SetText", "s", ["new text"])
    assert device.expect_all(["TEXT clear", "TEXT insert"]) == ["TEXT clear",
                                                                "TEXT insert new text"]
    assert client.atvd(path, KEYBOARD, "GetText") == ["new text"]

    client.atvd(path, KEYBOARD, "ClearText")
    assert device.expect("TEXT clear") == "TEXT clear"
    assert client.atvd(path, KEYBOARD, "GetText") == [""]

    client.atvd(path, KEYBOARD, "SetText", "s", [""])
    assert device.expect("TEXT clear") == "TEXT clear"

    # Every edit names the session the device opened last: none is refused as stale.
    assert "TEXT refused" not in device.output()

    result = atvctl("text", device.identifier, "set", "from atvctl")
    assert result.returncode == 0, result.stderr
    assert device.expect("TEXT insert") == "TEXT insert from atvctl"
    result = atvctl("text", device.identifier, "append", "!")
    assert result.returncode == 0, result.stderr
    assert device.expect("TEXT insert") == "TEXT insert !"
    result = atvctl("text", device.identifier)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from atvctl!"
    result = atvctl("--json", "text", device.identifier, "get")
    assert json.loads(result.stdout)["Text"] == "from atvctl!"
    result = atvctl("text", device.identifier, "clear")
    assert result.returncode == 0, result.stderr
    assert device.expect("TEXT clear") == "TEXT clear"
    assert client.atvd(path, KEYBOARD, "GetText") == [""]


def test_text_beyond_the_bounds_is_refused(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    focus(client, device, path, True)
    invalid = ERROR_PREFIX + "InvalidArguments"
    for member in ("SetText", "AppendText"):
        for size in (65537, 1024 * 1024):
            text = expect_error(invalid, client.atvd, path, KEYBOARD, member, "s", ["t" * size])
            assert "65536 bytes" in text
    with pytest.raises(AssertionError):
        device.expect("TEXT insert", timeout=0.5)

    # A field of a megabyte is not read, but still edited.
    assert script_answer(device, "text-field-generate 1000000") == \
        "SCRIPTED text-field-generate"
    text = expect_error(ERROR_PREFIX + "NotSupported", client.atvd, path, KEYBOARD, "GetText")
    assert "1000000 bytes" in text and "65536" in text, text
    client.atvd(path, KEYBOARD, "ClearText")
    assert device.expect("TEXT clear") == "TEXT clear"
    assert client.atvd(path, KEYBOARD, "GetText") == [""]
    assert sorted(client.get(path, DEVICE, "ConnectedProtocols")) == ["companion", "mrp"]


def test_a_field_beyond_a_companion_frame_loses_only_companion(client, companion_fake):
    """A field of megabytes does not fit the 1 MiB atvd reads of one Companion frame: the
    Companion link is dropped with a clear error, MRP stays and the daemon goes on."""
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    focus(client, device, path, True)
    assert script_answer(device, "text-field-generate 3000000") == \
        "SCRIPTED text-field-generate"
    text = expect_error(ERROR_PREFIX + "ConnectionLost", client.atvd, path, KEYBOARD, "GetText")
    assert "frame" in text and "1048576" in text, text
    client.wait_for(lambda: KEYBOARD not in interfaces_at(client, path), what="Keyboard1 gone")
    assert "org.atvd.RemoteControl1" in interfaces_at(client, path)
    assert "mrp" in client.get(path, DEVICE, "ConnectedProtocols")
    client.atvd(path, "org.atvd.RemoteControl1", "Press", "sa{sv}", ["select", {}])
    assert device.expect("HID 1 0x89 down")


def test_a_stranger_cannot_type(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    focus(client, device, path, True)
    read = run_as(STRANGER, "busctl", "--system", "get-property", "org.atvd", path, KEYBOARD,
                  "FocusState")
    assert read.returncode == 0 and "focused" in read.stdout, read
    for member, signature, body in (("GetText", "", []), ("SetText", "s", ["x"]),
                                    ("AppendText", "s", ["x"]), ("ClearText", "", [])):
        called = run_as(STRANGER, "busctl", "--system", "call", "org.atvd", path, KEYBOARD,
                        member, signature, *body)
        assert called.returncode != 0, (member, called)
        assert "Access denied" in called.stderr or "NotAuthorized" in called.stderr, called
    with pytest.raises(AssertionError):
        device.expect("TEXT ", timeout=0.5)


def test_companion_dropping_leaves_mrp_and_its_interfaces(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    present = interfaces_at(client, path)
    assert {POWER, APPS, KEYBOARD, "org.atvd.RemoteControl1"} <= present
    client.signals.clear()
    assert script_answer(device, "companion-drop") == "SCRIPTED companion-drop"

    def removed():
        names = set()
        for signal in client.signals_named("InterfacesRemoved"):
            if signal.body[0] == path:
                names |= set(signal.body[1])
        return names
    client.wait_for(lambda: SYSTEM_INTERFACES <= removed(), what="Power1, Apps1, Keyboard1 gone")
    assert "org.atvd.RemoteControl1" not in removed()
    assert "org.atvd.RemoteControl1" in interfaces_at(client, path)
    assert client.get(path, DEVICE, "Connected") is True
    assert "mrp" in client.get(path, DEVICE, "ConnectedProtocols")
    client.atvd(path, "org.atvd.RemoteControl1", "Press", "sa{sv}", ["select", {}])
    assert device.expect("HID 1 0x89 down")


def test_a_stranger_is_refused_and_nothing_reaches_the_device(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert script_answer(device, "apps com.apple.TVMusic=Music") == "SCRIPTED apps"
    read = run_as(STRANGER, "busctl", "--system", "get-property", "org.atvd", path, POWER,
                  "PowerState")
    assert read.returncode == 0, read
    launched = run_as(STRANGER, "busctl", "--system", "call", "org.atvd", path, APPS, "Launch",
                      "s", "com.apple.TVMusic")
    assert launched.returncode != 0
    assert "Access denied" in launched.stderr or "NotAuthorized" in launched.stderr, launched
    with pytest.raises(AssertionError):
        device.expect("LAUNCH ", timeout=0.5)


def test_monitor_shows_power_changes(client, companion_fake):
    device = companion_fake()
    path = connected(client, device, "mrp", "companion")
    assert script_answer(device, "power on") == "SCRIPTED power"
    client.wait_for(lambda: client.get(path, POWER, "PowerState") == "on", what="power on")
    monitor = subprocess.Popen([os.environ["ATVCTL_BINARY"], "monitor"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Printed once its matches are in place: every signal from then on reaches it.
        assert monitor.stderr.readline().startswith("Monitoring atvd"), "monitor did not start"
        assert script_answer(device, "power off") == "SCRIPTED power"
        deadline = time.monotonic() + 10
        while True:
            line = monitor.stdout.readline()
            if line.strip() == f"changed power {path} PowerState=off":
                break
            assert line and time.monotonic() < deadline, "monitor showed no power change"
    finally:
        monitor.terminate()
        monitor.wait(10)
