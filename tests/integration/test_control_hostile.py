"""A connected device that misbehaves on the control side, through D-Bus: it floods SET_STATE,
sends absurd or non-UTF-8 fields, artwork over the limit, and players and clients it never
announced. atvd keeps its memory bounded, shows only sane values, answers with a clear error,
and goes on serving a second connected device meanwhile.

The fake's `flood` and `hostile` script verbs (tests/fakes/README.md) send the bad input.
"""

import math
import os
import time

import pytest

from atvd_harness import DEVICE, ERROR_PREFIX, BusError, pair_with_pin

PLAYER = "org.atvd.Player1"
REMOTE = "org.atvd.RemoteControl1"
# PlayerStateLimits::max_string_bytes (libatv/mrp/player_state.hpp), documented in
# docs/dbus-api.md.
MAX_STRING_BYTES = 1024
# MrpControlOptions::max_artwork_bytes (libatv/mrp/control.hpp), documented in docs/dbus-api.md.
MAX_ARTWORK_BYTES = 960 * 1024
# How long a Press on the well-behaved device may take while the other one misbehaves.
PROMPT_SECONDS = 2.0
FLOOD = 10000
# What the allocator may keep after a flood; anything kept per message is far more.
RSS_SLACK_KIB = 2048
# Freed memory waits in AddressSanitizer's quarantine (up to 256 MiB) before reuse in a
# sanitizer build, so without this resident memory would grow with every message, leak or not.
DAEMON_ENV = {"ASAN_OPTIONS": ":".join(
    option for option in (os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0") if option)}

_fake_count = iter(range(1, 100))


def start_fake(fake, role):
    number = next(_fake_count)
    return fake(f"Hostile {role} {number}", f"fake-atv-hst-{role}-{number:04d}",
                f"AA:BB:CC:00:3{0 if role == 'bad' else 1}:{number:02X}")


def connect(client, device):
    path = client.find(device.identifier, "mrp")
    pair_with_pin(client, device, path, "mrp")
    client.atvd(path, DEVICE, "Connect")
    return path


def script(device, line):
    """Sends a script line and waits until the fake has applied and pushed it."""
    device.send(line)
    answer = device.expect("SCRIPTED ", timeout=30)
    assert answer == "SCRIPTED " + line.split()[0], answer


def play(client, device, path, title, **keys):
    fields = " ".join(f"{key}={value}" for key, value in keys.items())
    script(device, f'play title="{title}" app=com.apple.TVMusic {fields}')
    client.wait_for(lambda: client.get(path, PLAYER, "Title") == title, what=f"{title} shown")


@pytest.fixture
def devices(client, fake):
    """A misbehaving device and a well-behaved one, both connected and playing."""
    bad, good = start_fake(fake, "bad"), start_fake(fake, "good")
    bad.path, good.path = connect(client, bad), connect(client, good)
    play(client, bad, bad.path, "Song", duration=3600, position=10)
    bad.played_at = time.time()
    play(client, good, good.path, "Good Song", duration=300, position=0)
    return bad, good


_good_titles = iter(range(1, 1000))


def assert_served(client, device):
    """A key pressed on `device` reaches it promptly and its now-playing changes reach the bus."""
    started = time.monotonic()
    client.atvd(device.path, REMOTE, "Press", "sa{sv}", ["select", {}])
    took = time.monotonic() - started
    assert took < PROMPT_SECONDS, f"Press took {took:.2f} s"
    assert device.expect("HID 1 0x89 down", timeout=PROMPT_SECONDS)
    title = f"Good {next(_good_titles)}"
    script(device, f'set title="{title}"')
    client.wait_for(lambda: any(change.get("Title") == title
                                for change in changed_values(client, device.path)),
                    timeout=PROMPT_SECONDS * 2, what=f"{title} signalled")


def resident_kib(daemon):
    with open(f"/proc/{daemon.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def player_changes(client, path):
    return [s for s in client.signals_named("PropertiesChanged", path) if s.body[0] == PLAYER]


def changed_values(client, path):
    return [{k: v.value for k, v in s.body[1].items()} for s in player_changes(client, path)]


def shown_position(client, path):
    """Where Player1 says the item is now, in seconds."""
    values = client.get_all(path, PLAYER)
    now_us = time.time() * 1e6
    return (values["Position"] + (now_us - values["PositionTimestamp"]) * values["Rate"]) / 1e6


def wait_for_position(client, device, flooded):
    """Waits until Player1 shows the position the fake has after `flooded` flood messages."""
    def there():
        expected = 10 + (time.time() - device.played_at) + flooded
        return abs(shown_position(client, device.path) - expected) < 3
    client.wait_for(there, timeout=120, what=f"the position after {flooded} messages")


# ---- a flood of SET_STATE ----

def test_a_flood_of_set_state_is_bounded_and_does_not_starve_others(daemon, client, devices):
    bad, good = devices
    # Warm up: the allocator and the buffers reach the sizes a flood needs.
    script(bad, "flood 2000")
    wait_for_position(client, bad, 2000)
    client.pump(0.5)
    before = resident_kib(daemon)
    client.signals.clear()

    bad.send(f"flood {FLOOD}")
    # The other device is served while atvd works through the flood.
    assert_served(client, good)
    bad.expect("SCRIPTED flood", timeout=60)
    wait_for_position(client, bad, 2000 + FLOOD)
    client.pump(1)
    after = resident_kib(daemon)

    # Updates sent together are coalesced (docs/dbus-api.md, Player1): far fewer signals than
    # messages, each with only the position fields, the only ones the flood changes.
    changes = player_changes(client, bad.path)
    print(f"{FLOOD} SET_STATE messages: {len(changes)} Player1 PropertiesChanged; resident "
          f"memory {before} KiB before, {after} KiB after")
    assert 0 < len(changes) <= FLOOD // 4
    for change in changes:
        assert set(change.body[1]) | set(change.body[2]) <= {"Position", "PositionTimestamp"}
    assert after - before <= RSS_SLACK_KIB, f"resident memory grew from {before} to {after} KiB"
    assert client.get(bad.path, PLAYER, "Title") == "Song"
    assert_served(client, good)
    assert_served(client, bad)


# ---- absurd and non-UTF-8 fields ----

def hostile(client, device, line, prop, wanted):
    """Sends `hostile line` and waits until Player1's `prop` is `wanted`."""
    script(device, "hostile " + line)
    client.wait_for(lambda: client.get(device.path, PLAYER, prop) == wanted,
                    what=f"{prop} {wanted!r} after hostile {line}")


def test_absurd_fields_show_as_bounded_valid_text_and_sane_numbers(daemon, client, devices):
    bad, good = devices

    # A title of a megabyte is cut to the bound, at a character boundary.
    long_title = "x" + "\u00e9" * ((MAX_STRING_BYTES - 1) // 2)
    hostile(client, bad, "title-bytes 1000000", "Title", long_title)
    assert len(client.get(bad.path, PLAYER, "Title").encode()) <= MAX_STRING_BYTES
    assert {"Title": long_title} in changed_values(client, bad.path)

    # Invalid bytes become U+FFFD, control characters spaces.
    replaced = "ab\ufffd\ufffd\ufffd(cd\ufffd\ufffd\ufffd\ufffd\ufffd ef"
    hostile(client, bad, "invalid-utf8", "Title", replaced)
    assert client.get(bad.path, PLAYER, "Artist") == replaced
    assert client.get(bad.path, PLAYER, "Album") == replaced
    assert_served(client, good)

    # Numbers out of any sane range are dropped: unknown numbers are 0.
    hostile(client, bad, "duration 120", "Duration", 120_000_000)
    for absurd in ("-5", "nan", "inf", "1e300"):
        hostile(client, bad, "duration 77", "Duration", 77_000_000)
        hostile(client, bad, f"duration {absurd}", "Duration", 0)
    for absurd in ("-5", "nan", "-inf", "1e300"):
        hostile(client, bad, "position 1234", "Position", 1_234_000_000)
        hostile(client, bad, f"position {absurd}", "Position", 0)
    # A rate other than 1 while playing is seeking; a rate that is no rate is none at all.
    for absurd in ("nan", "inf", "-1e30", "1e30"):
        hostile(client, bad, "rate 2", "State", "seeking")
        hostile(client, bad, f"rate {absurd}", "State", "playing")
        assert client.get(bad.path, PLAYER, "Rate") == 1.0
    for field, prop in (("season", "SeasonNumber"), ("episode", "EpisodeNumber")):
        for absurd in ("-1", "2147483647"):
            hostile(client, bad, f"{field} 5", prop, 5)
            hostile(client, bad, f"{field} {absurd}", prop, 0)

    values = client.get_all(bad.path, PLAYER)
    for name, value in values.items():
        if isinstance(value, float):
            assert math.isfinite(value), (name, value)
    assert daemon.process.poll() is None
    assert_served(client, good)
    assert_served(client, bad)


# ---- artwork over the limit ----

def test_artwork_over_the_limit_is_a_clear_error(client, devices, tmp_path):
    bad, good = devices
    small = tmp_path / "small.png"
    small.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1000))
    script(bad, f"artwork {small}")
    client.wait_for(lambda: client.get(bad.path, PLAYER, "ArtworkIdentifier"), what="artwork")
    assert bytes(client.atvd(bad.path, PLAYER, "GetArtwork", "uu", [0, 0])[0][1]) == \
        small.read_bytes()

    # Up to the MRP frame limit (1 MiB) with the rest of the message; a larger frame closes the
    # connection, as any message over the limit does.
    for size in (MAX_ARTWORK_BYTES + 1, MAX_ARTWORK_BYTES + 32 * 1024):
        large = tmp_path / f"large-{size}.png"
        large.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(size - 8))
        identifier = client.get(bad.path, PLAYER, "ArtworkIdentifier")
        script(bad, f"artwork {large}")
        client.wait_for(lambda: client.get(bad.path, PLAYER, "ArtworkIdentifier") != identifier,
                        what="the new artwork")
        with pytest.raises(BusError) as error:
            client.atvd(bad.path, PLAYER, "GetArtwork", "uu", [0, 0])
        assert error.value.name == ERROR_PREFIX + "NotSupported", error.value
        assert "too large" in error.value.text and str(size) in error.value.text, error.value
        assert_served(client, good)
        # The connection goes on, artwork included.
        assert client.get(bad.path, DEVICE, "Connected") is True
        assert_served(client, bad)

    script(bad, f"artwork {small}")
    client.wait_for(lambda: client.atvd(bad.path, PLAYER, "GetArtwork", "uu", [0, 0]),
                    what="artwork again")
    assert bytes(client.atvd(bad.path, PLAYER, "GetArtwork", "uu", [0, 0])[0][1]) == \
        small.read_bytes()


# ---- players and clients that are not the active ones ----

def settle(client, device, marker):
    """A change of the active item after the lines sent before it: once it shows, they have
    all been handled."""
    script(device, f"set genre={marker}")
    client.wait_for(lambda: client.get(device.path, PLAYER, "Genre") == marker,
                    what=f"genre {marker}")


def test_players_and_clients_not_active_do_not_show(daemon, client, devices):
    bad, good = devices
    features = client.get(bad.path, DEVICE, "Features")
    shown = client.get_all(bad.path, PLAYER)
    client.signals.clear()

    for line in ("other-player Intruder", "other-client Stranger", "players 200",
                 "clients 200"):
        script(bad, "hostile " + line)
    settle(client, bad, "Marker1")
    assert changed_values(client, bad.path) == [{"Genre": "Marker1"}]
    assert client.get_all(bad.path, PLAYER) == dict(shown, Genre="Marker1")
    assert client.get(bad.path, DEVICE, "Features") == dict(features, Genre="available")

    # Removing a player or client atvd never heard of, or one that is not active, is harmless.
    client.signals.clear()
    for line in ("remove-player nobody", "remove-client com.example.nobody",
                 "remove-player hostile-player", "remove-client com.example.hostile",
                 "remove-player \"\"", "remove-client \"\""):
        script(bad, "hostile " + line)
    settle(client, bad, "Marker2")
    assert changed_values(client, bad.path) == [{"Genre": "Marker2"}]
    assert client.get(bad.path, PLAYER, "Title") == "Song"
    assert client.get(bad.path, PLAYER, "AppIdentifier") == "com.apple.TVMusic"
    assert daemon.process.poll() is None
    assert_served(client, good)
    assert_served(client, bad)
