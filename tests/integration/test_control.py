"""Control of a connected device through D-Bus (RemoteControl1, Player1, Audio1 and
Device1.Features), and atvctl's control commands, against the fake Apple TV.

The fake's media side is scripted through FakeAppleTV.send; it prints the keys and commands it
receives on stdout, which the tests expect.
"""

import json
import os
import subprocess
import time

import pytest
from dbus_next import Variant

from atvd_harness import DEVICE, ERROR_PREFIX, BusError, pair_with_pin, run_as

REMOTE = "org.atvd.RemoteControl1"
PLAYER = "org.atvd.Player1"
AUDIO = "org.atvd.Audio1"
CONTROL_INTERFACES = {REMOTE, PLAYER, AUDIO}
FEATURE_STATES = {"available", "unavailable", "unsupported", "unknown"}
STRANGER = "atvd-stranger"

_fake_count = iter(range(1, 100))


@pytest.fixture
def fake(fake, request):
    """A fake Apple TV whose name, identifier and MAC differ in every test, so services a
    previous test's fake left in Avahi's cache cannot be mistaken for it. Parametrized with
    "tunnel" (see both_shapes), it has the tvOS 15 shape: no MRP service, MRP inside AirPlay."""
    tunnel = getattr(request, "param", "mrp") == "tunnel"

    def start(*extra):
        number = next(_fake_count)
        device = fake(f"Control Room {number}", f"fake-atv-ctl-{number:04d}",
                      f"AA:BB:CC:00:20:{number:02X}", *extra, *(["--tvos15"] if tunnel else []))
        device.tunnel = tunnel or "--tvos15" in extra
        return device
    return start


# What a test so marked checks holds for MRP on its own connection (tvOS 14 and older) and for
# MRP inside the AirPlay 2 tunnel (tvOS 15 and later).
both_shapes = pytest.mark.parametrize("fake", ["mrp", "tunnel"], indirect=True)


def atvctl(*args, timeout=60):
    return subprocess.run([os.environ["ATVCTL_BINARY"], *args], capture_output=True, text=True,
                          timeout=timeout)


def paired(client, device):
    protocol = "airplay" if device.tunnel else "mrp"
    path = client.find(device.identifier, protocol)
    pair_with_pin(client, device, path, protocol)
    return path


def connected(client, device):
    path = paired(client, device)
    client.atvd(path, DEVICE, "Connect")
    return path


def interfaces_at(client, path):
    return set(client.managed_objects().get(path, {}))


def control_signals(client, member, path):
    """The interfaces each InterfacesAdded/InterfacesRemoved of `path` named."""
    found = []
    for signal in client.signals_named(member):
        if signal.body[0] == path:
            names = signal.body[1] if member == "InterfacesRemoved" else signal.body[1].keys()
            found.append(set(names) & CONTROL_INTERFACES)
    return [names for names in found if names]


def changes_of(client, path, interface):
    """The property names of every PropertiesChanged of `interface` at `path`, in order."""
    return [set(s.body[1]) | set(s.body[2]) for s in client.signals_named("PropertiesChanged", path)
            if s.body[0] == interface]


def changed_values(client, path, interface):
    return [{k: v.value for k, v in s.body[1].items()}
            for s in client.signals_named("PropertiesChanged", path) if s.body[0] == interface]


def expect_error(name, call, *args):
    with pytest.raises(BusError) as error:
        call(*args)
    assert error.value.name == name, error.value
    return error.value.text


# ---- without the media side ----

def test_features_and_interfaces_follow_the_connection(client, fake):
    device = fake()
    path = paired(client, device)
    assert client.get(path, DEVICE, "Features") == {}
    assert not interfaces_at(client, path) & CONTROL_INTERFACES

    client.atvd(path, DEVICE, "Connect")
    features = client.get(path, DEVICE, "Features")
    assert {"Up", "Select", "PlayPause", "Title", "Artwork", "TurnOn", "PowerState", "AppList",
            "LaunchApp", "Volume", "SetVolume", "TextGet", "iTunesStoreIdentifier"} <= set(features)
    assert set(features.values()) <= FEATURE_STATES
    client.wait_for(lambda: any("Features" in c for c in changes_of(client, path, DEVICE)),
                    what="Features signalled on Connect")
    # An interface is there exactly when some part of it is supported.
    present = interfaces_at(client, path) & CONTROL_INTERFACES
    assert (REMOTE in present) == any(features[name] != "unsupported"
                                      for name in ("Up", "Select", "Play", "SetPosition"))
    assert (AUDIO in present) == any(features[name] != "unsupported"
                                     for name in ("Volume", "SetVolume"))

    client.signals.clear()
    client.atvd(path, DEVICE, "Close")
    assert client.get(path, DEVICE, "Features") == {}
    assert not interfaces_at(client, path) & CONTROL_INTERFACES
    client.wait_for(lambda: any("Features" in c for c in changes_of(client, path, DEVICE)),
                    what="Features signalled on Close")
    if present:
        client.wait_for(lambda: control_signals(client, "InterfacesRemoved", path) == [present],
                        what="the control interfaces withdrawn")


def test_press_on_a_device_not_connected_is_refused(client, fake):
    device = fake()
    path = paired(client, device)
    with pytest.raises(BusError) as error:
        client.atvd(path, REMOTE, "Press", "sa{sv}", ["select", {}])
    assert error.value.name in ("org.freedesktop.DBus.Error.UnknownMethod",
                                "org.freedesktop.DBus.Error.UnknownInterface",
                                "org.freedesktop.DBus.Error.UnknownObject"), error.value
    assert REMOTE in error.value.text

    result = atvctl("press", device.identifier, "select")
    assert result.returncode == 1, result
    assert "not connected" in result.stderr
    result = atvctl("playing", device.identifier)
    assert result.returncode == 1, result
    assert "not connected" in result.stderr


@pytest.mark.parametrize("args", [
    ["press", "x"], ["press", "x", "select", "--double", "--hold"],
    ["press", "x", "select", "--interval", "10"], ["press", "x", "jump"],
    ["volume", "x", "150"], ["volume", "x", "loud"], ["volume", "x", "1", "2"],
    ["artwork", "x"], ["artwork", "x", "-o", "f.png", "--size", "big"],
    ["artwork", "x", "-o", "f.png", "--size", "0x"], ["playing"],
])
def test_control_usage_errors_exit_2(args):
    result = atvctl(*args)
    assert result.returncode == 2, result
    assert "atvctl --help" in result.stderr


# ---- with the media side ----

@both_shapes
def test_interfaces_come_with_connect_and_leave_with_close_and_loss(client, fake):
    device = fake()
    path = connected(client, device)
    assert CONTROL_INTERFACES <= interfaces_at(client, path)
    assert control_signals(client, "InterfacesAdded", path) == [CONTROL_INTERFACES]

    client.atvd(path, DEVICE, "Close")
    assert not interfaces_at(client, path) & CONTROL_INTERFACES
    client.wait_for(lambda: control_signals(client, "InterfacesRemoved", path)
                    == [CONTROL_INTERFACES], what="InterfacesRemoved on Close")

    client.signals.clear()
    client.atvd(path, DEVICE, "Connect")
    assert CONTROL_INTERFACES <= interfaces_at(client, path)
    device.stop()
    client.wait_for(lambda: control_signals(client, "InterfacesRemoved", path)
                    == [CONTROL_INTERFACES], what="InterfacesRemoved on loss")
    assert client.get(path, DEVICE, "Features") == {}
    assert not interfaces_at(client, path) & CONTROL_INTERFACES


HID_KEYS = {
    "up": "HID 1 0x8c", "down": "HID 1 0x8d", "left": "HID 1 0x8b", "right": "HID 1 0x8a",
    "select": "HID 1 0x89", "menu": "HID 1 0x86", "home": "HID 12 0x40",
    "top_menu": "HID 12 0x60", "volume_up": "HID 12 0xe9", "volume_down": "HID 12 0xea",
}
COMMAND_KEYS = {
    "play": "COMMAND Play", "pause": "COMMAND Pause", "play_pause": "COMMAND TogglePlayPause",
    "stop": "COMMAND Stop", "next": "COMMAND NextTrack", "previous": "COMMAND PreviousTrack",
}


def press(client, path, key, **options):
    client.atvd(path, REMOTE, "Press", "sa{sv}", [key, options])


@both_shapes
def test_every_key_arrives_as_the_right_message(client, fake):
    device = fake()
    path = connected(client, device)
    device.send('play title="Song" artist="Band" duration=300 position=10 rate=1 '
                'app=com.apple.TVMusic')
    client.wait_for(lambda: client.get(path, PLAYER, "Title") == "Song", what="the song")
    for key, line in HID_KEYS.items():
        press(client, path, key)
        # Press returns when the device has the key: both lines are out already.
        assert device.expect(line + " down", timeout=1)
        assert device.expect(line + " up", timeout=1)
    for key, line in COMMAND_KEYS.items():
        press(client, path, key)
        assert device.expect(line, timeout=1) == line
    press(client, path, "skip_forward", Interval=Variant("d", 15.0))
    assert device.expect("COMMAND SkipForward", timeout=1) == "COMMAND SkipForward interval=15"
    press(client, path, "skip_backward", Interval=Variant("d", 5.0))
    assert device.expect("COMMAND SkipBackward", timeout=1) == "COMMAND SkipBackward interval=5"


def hid_time(line):
    return int(line.rsplit("t=", 1)[1])


@both_shapes
def test_double_and_hold_have_their_timing(client, fake):
    device = fake()
    path = connected(client, device)
    press(client, path, "select", Action=Variant("s", "double"))
    lines = [device.expect("HID 1 0x89", timeout=1) for _ in range(4)]
    assert [line.split()[3] for line in lines] == ["down", "up", "down", "up"]
    assert hid_time(lines[3]) - hid_time(lines[0]) < 500

    started = time.monotonic()
    press(client, path, "menu", Action=Variant("s", "hold"))
    assert time.monotonic() - started >= 0.9
    down, up = device.expect("HID 1 0x86 down", timeout=1), device.expect("HID 1 0x86 up")
    assert 900 <= hid_time(up) - hid_time(down) <= 1500


def test_argument_errors_name_the_culprit(client, fake):
    device = fake()
    path = connected(client, device)
    invalid = ERROR_PREFIX + "InvalidArguments"
    assert "'jump'" in expect_error(invalid, press, client, path, "jump")
    assert "'Speed'" in expect_error(invalid, lambda: press(client, path, "select",
                                                            Speed=Variant("d", 2.0)))
    assert "'triple'" in expect_error(invalid, lambda: press(client, path, "select",
                                                             Action=Variant("s", "triple")))
    assert "Interval" in expect_error(invalid, lambda: press(client, path, "select",
                                                             Interval=Variant("d", 10.0)))
    assert "'on'" in expect_error(invalid, client.atvd, path, REMOTE, "SetShuffle", "s", ["on"])
    assert "'one'" in expect_error(invalid, client.atvd, path, REMOTE, "SetRepeat", "s", ["one"])
    assert "volume" in expect_error(invalid, client.atvd, path, AUDIO, "SetVolume", "d", [150.0])
    # Nothing reached the device.
    press(client, path, "select")
    assert device.expect("HID ", timeout=1).startswith("HID 1 0x89 down")


@both_shapes
def test_a_command_the_app_does_not_support_is_not_supported(client, fake):
    device = fake()
    path = connected(client, device)
    device.send('play title="Song" duration=300 position=10 rate=1 app=com.apple.TVMusic')
    # Before anything plays SkipForward is not available either: the app's full set of commands
    # must have arrived first, or the wait below could end before "commands" has.
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["SkipForward"] == "available",
                    what="the app's commands")
    device.send("commands play,pause")
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["SkipForward"] != "available",
                    what="SkipForward no longer available")
    features = client.get(path, DEVICE, "Features")
    assert features["Pause"] != "unsupported"
    assert features["Next"] != "available"
    text = expect_error(ERROR_PREFIX + "NotSupported", press, client, path, "next")
    assert "Next" in text
    device.send("commands play,pause,next")
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["Next"] == "available",
                    what="Next available again")
    press(client, path, "next")
    assert device.expect("COMMAND NextTrack", timeout=1)


@both_shapes
def test_now_playing_changes_carry_exactly_what_changed(client, fake):
    device = fake()
    path = connected(client, device)
    device.send('play title="Song" artist="Band" album="Album" duration=300 position=10 rate=1 '
                'app=com.apple.TVMusic media=music')
    client.wait_for(lambda: client.get(path, PLAYER, "Title") == "Song", what="the song")
    playing = client.get_all(path, PLAYER)
    assert playing["State"] == "playing"
    assert playing["MediaType"] == "music"
    assert playing["Artist"] == "Band" and playing["Album"] == "Album"
    assert playing["Duration"] == 300_000_000
    assert playing["Rate"] == 1.0
    assert playing["AppIdentifier"] == "com.apple.TVMusic" and playing["App"] == "Music"
    # The position fields extrapolate to where the song is now.
    now_us = time.time() * 1e6
    position = playing["Position"] + (now_us - playing["PositionTimestamp"]) * playing["Rate"]
    assert abs(position - 10e6) < 1.5e6

    client.signals.clear()
    device.send('set title="Song, renamed"')
    client.wait_for(lambda: changes_of(client, path, PLAYER), what="the rename signalled")
    client.pump(0.3)
    assert changes_of(client, path, PLAYER) == [{"Title"}]
    assert changed_values(client, path, PLAYER) == [{"Title": "Song, renamed"}]

    client.signals.clear()
    device.send("pause")
    client.wait_for(lambda: changes_of(client, path, PLAYER), what="the pause signalled")
    client.pump(0.3)
    assert changes_of(client, path, PLAYER) == [{"State", "Rate", "Position",
                                                 "PositionTimestamp"}]
    assert client.get(path, PLAYER, "State") == "paused"
    assert client.get(path, PLAYER, "Rate") == 0.0
    # The signal carries the values a Get reads, of every type (s, d, t).
    signalled = changed_values(client, path, PLAYER)[0]
    now = client.get_all(path, PLAYER)
    assert signalled == {name: now[name] for name in signalled}


@both_shapes
def test_position_is_signalled_on_jumps_only(client, fake):
    device = fake()
    path = connected(client, device)
    device.send('play title="Long" duration=3600 position=100 rate=1 app=com.apple.TVMusic')
    client.wait_for(lambda: client.get(path, PLAYER, "Title") == "Long", what="the item")
    client.signals.clear()
    # The device reports the item again and again while its position runs on: no position.
    for genre in ("Drama", "Comedy", "Jazz"):
        device.send(f'set genre="{genre}"')
        client.pump(1)
    assert changes_of(client, path, PLAYER) == [{"Genre"}] * 3

    device.send("seek 1000")
    client.wait_for(lambda: any("Position" in n for n in changes_of(client, path, PLAYER)),
                    what="the seek signalled")
    values = client.get_all(path, PLAYER)
    now_us = time.time() * 1e6
    position = values["Position"] + (now_us - values["PositionTimestamp"]) * values["Rate"]
    assert abs(position - 1000e6) < 1.5e6


@both_shapes
def test_artwork_in_two_sizes(client, fake, tmp_path):
    device = fake()
    path = connected(client, device)
    image = tmp_path / "cover.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    device.send('play title="Song" duration=300 position=0 rate=1 app=com.apple.TVMusic')
    device.send(f"artwork {image} 600x600")
    client.wait_for(lambda: client.get(path, PLAYER, "ArtworkIdentifier"), what="artwork")
    mime, data, width, height = client.atvd(path, PLAYER, "GetArtwork", "uu", [0, 0])[0]
    assert device.expect("ARTWORK ", timeout=2)
    assert mime == "image/png" and bytes(data) == image.read_bytes()
    assert (width, height) == (600, 600)
    client.atvd(path, PLAYER, "GetArtwork", "uu", [100, 100])
    assert device.expect("ARTWORK ", timeout=2) == "ARTWORK 100x100"

    result = atvctl("artwork", device.identifier, "-o", str(tmp_path / "out.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.png").read_bytes() == image.read_bytes()

    identifier = client.get(path, PLAYER, "ArtworkIdentifier")
    device.send("artwork none")
    client.wait_for(lambda: client.get(path, PLAYER, "ArtworkIdentifier") != identifier,
                    what="the artwork gone")
    assert client.get(path, PLAYER, "ArtworkIdentifier") == ""
    expect_error(ERROR_PREFIX + "NotFound", client.atvd, path, PLAYER, "GetArtwork", "uu", [0, 0])


@both_shapes
def test_volume_both_ways(client, fake):
    device = fake()
    path = connected(client, device)
    device.send("volume 40")
    client.wait_for(lambda: client.get(path, AUDIO, "Volume") == 40.0, what="volume 40")
    assert {"Volume": 40.0} in changed_values(client, path, AUDIO)

    client.atvd(path, AUDIO, "SetVolume", "d", [50.0])
    assert device.expect("VOLUME", timeout=2) == "VOLUME 0.5"
    client.wait_for(lambda: client.get(path, AUDIO, "Volume") == 50.0, what="volume 50")
    client.atvd(path, AUDIO, "VolumeUp")
    client.wait_for(lambda: client.get(path, AUDIO, "Volume") > 50.0, what="volume up")

    result = atvctl("volume", device.identifier)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split()[-1]) > 50.0
    assert atvctl("volume", device.identifier, "20").returncode == 0
    assert device.expect("VOLUME", timeout=2) == "VOLUME 0.2"

    # Volume control that goes away is unavailable: the interface stays, its methods refuse.
    device.send("volume off")
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["SetVolume"] == "unavailable",
                    what="SetVolume unavailable")
    assert AUDIO in interfaces_at(client, path)
    text = expect_error(ERROR_PREFIX + "NotSupported", client.atvd, path, AUDIO, "SetVolume", "d",
                        [30.0])
    assert "SetVolume" in text
    device.send("volume on")
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["SetVolume"] == "available",
                    what="SetVolume available again")


def test_a_stranger_reads_player_but_may_not_press(client, fake):
    device = fake()
    path = connected(client, device)
    device.send('play title="Song" duration=300 position=0 rate=1 app=com.apple.TVMusic')
    client.wait_for(lambda: client.get(path, PLAYER, "Title") == "Song", what="the song")
    read = run_as(STRANGER, "busctl", "--system", "get-property", "org.atvd", path, PLAYER,
                  "Title")
    assert read.returncode == 0 and '"Song"' in read.stdout, read
    pressed = run_as(STRANGER, "busctl", "--system", "call", "org.atvd", path, REMOTE, "Press",
                     "sa{sv}", "select", "0")
    assert pressed.returncode != 0
    assert "Access denied" in pressed.stderr or "NotAuthorized" in pressed.stderr, pressed
    client.pump(0.3)
    with pytest.raises(AssertionError):
        device.expect("HID ", timeout=0.5)


def test_atvctl_press_playing_and_monitor(client, fake):
    device = fake()
    path = connected(client, device)
    monitor = subprocess.Popen([os.environ["ATVCTL_BINARY"], "monitor"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.5)
        device.send('play title="Song" artist="Band" duration=300 position=10 rate=1 '
                    'app=com.apple.TVMusic')
        client.wait_for(lambda: client.get(path, PLAYER, "Title") == "Song", what="the song")

        result = atvctl("press", device.identifier, "select", "--double")
        assert result.returncode == 0, result.stderr
        assert device.expect("HID 1 0x89 down", timeout=1)

        result = atvctl("playing", device.identifier)
        assert result.returncode == 0, result.stderr
        assert "Song" in result.stdout and "Band" in result.stdout and "playing" in result.stdout
        result = atvctl("playing", device.identifier, "--json")
        assert result.returncode == 0, result.stderr
        playing = json.loads(result.stdout)
        assert playing["Title"] == "Song" and playing["State"] == "playing"
        assert playing["Path"] == path

        deadline = time.monotonic() + 10
        while True:
            line = monitor.stdout.readline()
            if line.startswith(f"playing {path}") and "Title=Song" in line:
                break
            assert line and time.monotonic() < deadline, "monitor showed no now-playing change"
    finally:
        monitor.terminate()
        monitor.wait(10)

