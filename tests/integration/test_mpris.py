"""atvd-mpris: every connected Apple TV as an MPRIS player on a session bus, driven by Debian's
playerctl (a real MPRIS client) against atvd and the fake Apple TV.

Each test starts a private session bus of its own; atvd-mpris is pointed at both buses with
--system-bus-address / --session-bus-address.
"""

import asyncio
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from dbus_next import Message, MessageType
from dbus_next.aio import MessageBus

from atvd_harness import DEVICE, MANAGER, BusError, Client, Daemon, pair_with_pin

STRANGER = "atvd-stranger"
SPEC_XML = os.path.join(os.path.dirname(__file__), "..", "..", "mpris",
                        "org.mpris.MediaPlayer2.xml")
MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"

_fake_count = iter(range(1, 100))

SESSION_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <!-- Root's clients and the stranger's atvd-mpris share this bus. -->
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SessionBus:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mpris-session-")
        os.chmod(self.dir, 0o755)
        conf = os.path.join(self.dir, "session.conf")
        with open(conf, "w") as f:
            f.write(SESSION_CONF.format(socket=os.path.join(self.dir, "bus")))
        self.process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, text=True)
        self.address = self.process.stdout.readline().strip()
        assert self.address.startswith("unix:"), self.address
        self.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)

    def stop(self):
        self.process.terminate()
        self.process.wait(5)


class SessionClient:
    """Records the signals of the players on a session bus, on the loop of `client` (dbus-next
    binds its connections to the thread's loop)."""

    def __init__(self, address, client):
        self.loop = client.loop
        self.bus = self.loop.run_until_complete(MessageBus(bus_address=address).connect())
        self.signals = []
        self.bus.add_message_handler(self._on_message)
        reply = self.loop.run_until_complete(self.bus.call(Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus", member="AddMatch", signature="s",
            body=[f"type='signal',path='{MPRIS_PATH}'"])))
        assert reply.message_type == MessageType.METHOD_RETURN, reply.body

    def _on_message(self, message):
        if message.message_type == MessageType.SIGNAL:
            self.signals.append(message)

    def named(self, member):
        return [s for s in self.signals if s.member == member]

    def wait_for(self, predicate, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.loop.run_until_complete(asyncio.sleep(0.05))

    def close(self):
        self.bus.disconnect()
        self.loop.run_until_complete(asyncio.sleep(0))


class Mpris:
    """One atvd-mpris process."""

    def __init__(self, session, user=None):
        self.runtime = tempfile.mkdtemp(prefix="mpris-runtime-")
        prefix = []
        if user:
            subprocess.run(["chown", user, self.runtime], check=True)
            prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]
        self.log_path = os.path.join(tempfile.mkdtemp(prefix="mpris-log-"), "mpris.log")
        self.log = open(self.log_path, "wb")
        env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        self.process = subprocess.Popen(
            [*prefix, os.environ["ATVD_MPRIS_BINARY"], "-v",
             "--system-bus-address", os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
             "--session-bus-address", session.address],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


@pytest.fixture
def session():
    bus = SessionBus()
    yield bus
    bus.stop()


@pytest.fixture
def mpris(session, request):
    started = []

    def start(user=None):
        bridge = Mpris(session, user)
        started.append(bridge)
        return bridge
    yield start
    for bridge in started:
        code = bridge.stop()
        if getattr(request.node, "failed_in", None):
            print(f"--- atvd-mpris log ---\n{bridge.output()[-20000:]}")
        output = bridge.output()
        assert code == 0, f"atvd-mpris did not end cleanly ({code}):\n{output[-6000:]}"
        assert "Sanitizer" not in output, output[-6000:]
        # Its artwork files go with it.
        leftovers = [name for _, _, names in os.walk(bridge.runtime) for name in names]
        assert leftovers == [], leftovers


@pytest.fixture
def fake(fake):
    def start(*extra):
        number = next(_fake_count)
        return fake(f"Mpris Room {number}", f"fake-atv-mpris-{number:04d}",
                    f"AA:BB:CC:00:30:{number:02X}", *extra)
    return start


def connected(client, device):
    path = client.find(device.identifier, "mrp")
    pair_with_pin(client, device, path, "mrp")
    client.atvd(path, DEVICE, "Connect")
    return path


def player_name(path):
    return "atvd." + path.rsplit("/", 1)[1]


def playerctl(session, *args, timeout=10):
    return subprocess.run(["playerctl", *args], capture_output=True, text=True, env=session.env,
                          timeout=timeout)


def players(session):
    result = playerctl(session, "-l")
    return set(result.stdout.split()) if result.returncode == 0 else set()


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def busctl(session, *args, user=None):
    prefix = ["runuser", "-u", user, "--"] if user else []
    return subprocess.run([*prefix, "busctl", f"--address={session.address}", *args],
                          capture_output=True, text=True, timeout=10)


def metadata(session, name, key):
    result = playerctl(session, "-p", name, "metadata", key)
    return result.stdout.strip() if result.returncode == 0 else None


def test_playerctl_lists_shows_and_controls_the_device(client, fake, mpris, session, tmp_path):
    bridge = mpris()
    device = fake()
    path = connected(client, device)
    name = player_name(path)
    wait_until(lambda: name in players(session), what="the player listed")

    image = tmp_path / "cover.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    device.send(f"artwork {image} 600x600")
    device.send('play title="Song" artist="Band" album="Album" genre="Jazz" duration=300 '
                'position=10 rate=1 app=com.apple.TVMusic media=music')
    wait_until(lambda: metadata(session, name, "xesam:title") == "Song", what="the title")
    assert metadata(session, name, "xesam:artist") == "Band"
    assert metadata(session, name, "xesam:album") == "Album"
    assert metadata(session, name, "xesam:genre") == "Jazz"
    assert metadata(session, name, "mpris:length") == "300000000"
    assert playerctl(session, "-p", name, "status").stdout.strip() == "Playing"
    url = wait_until(lambda: metadata(session, name, "mpris:artUrl"), what="the artwork URL")
    assert url.startswith("file://"), url
    art = urllib.parse.unquote(url[len("file://"):])
    assert art.startswith(bridge.runtime + "/"), art
    with open(art, "rb") as f:
        assert f.read() == image.read_bytes()
    identity = busctl(session, "get-property", f"org.mpris.MediaPlayer2.{name}", MPRIS_PATH,
                      "org.mpris.MediaPlayer2", "Identity")
    assert identity.stdout.strip() == f'''s "{device.name}"''', identity

    # Each command reaches the fake as the message a device expects.
    commands = [
        (["play-pause"], "COMMAND TogglePlayPause"),
        (["next"], "COMMAND NextTrack"),
        (["position", "30"], "COMMAND SeekToPlaybackPosition position=30"),
        (["volume", "0.5"], "VOLUME 0.5"),
        (["shuffle", "on"], "COMMAND ChangeShuffleMode shuffle=Songs"),
        (["loop", "Track"], "COMMAND ChangeRepeatMode repeat=One"),
    ]
    for args, line in commands:
        result = playerctl(session, "-p", name, *args)
        assert result.returncode == 0, (args, result)
        assert device.expect(line.split()[0] + " " + line.split()[1], timeout=5) == line, args

    # The device's state shows in the MPRIS properties.
    wait_until(lambda: playerctl(session, "-p", name, "shuffle").stdout.strip() == "On",
               what="shuffle on")
    wait_until(lambda: playerctl(session, "-p", name, "loop").stdout.strip() == "Track",
               what="loop Track")
    wait_until(lambda: playerctl(session, "-p", name, "volume").stdout.strip().startswith("0.5"),
               what="volume 0.5")

    # OpenUri is not supported.
    result = busctl(session, "call", f"org.mpris.MediaPlayer2.{name}", MPRIS_PATH, PLAYER_IFACE,
                    "OpenUri", "s", "https://example.com/a.mp3")
    assert result.returncode != 0 and "not" in result.stderr.lower(), result

    # When the artwork goes, so do its URL and its file.
    device.send("artwork none")
    wait_until(lambda: metadata(session, name, "mpris:artUrl") in (None, ""),
               what="the artwork URL gone")
    assert not os.path.exists(art)


def test_a_change_on_the_device_reaches_playerctl_follow(client, fake, mpris, session):
    mpris()
    device = fake()
    path = connected(client, device)
    name = player_name(path)
    device.send('play title="First" artist="Band" duration=300 position=0 rate=1 '
                'app=com.apple.TVMusic')
    wait_until(lambda: metadata(session, name, "xesam:title") == "First", what="the title")
    follow = subprocess.Popen(["playerctl", "-p", name, "--follow", "metadata", "title"],
                              stdout=subprocess.PIPE, text=True, env=session.env)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(follow.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        wait_until(lambda: "First\n" in lines, what="--follow's first line")
        device.send('set title="Second"')
        wait_until(lambda: "Second\n" in lines, what="the change followed")
        device.send("pause")
        wait_until(lambda: playerctl(session, "-p", name, "status").stdout.strip() == "Paused",
                   what="paused")
    finally:
        follow.terminate()
        follow.wait(5)

    # What the app offers now shows in the Can* properties.
    bus_name = f"org.mpris.MediaPlayer2.{name}"

    def can(*names):
        result = busctl(session, "get-property", bus_name, MPRIS_PATH, PLAYER_IFACE, *names)
        return [value == "true" for value in result.stdout.split()[1::2]]
    assert can("CanGoNext", "CanGoPrevious", "CanPlay", "CanPause", "CanSeek",
               "CanControl") == [True] * 6
    device.send("commands play,pause")
    wait_until(lambda: can("CanGoNext", "CanGoPrevious", "CanSeek", "CanPlay", "CanPause",
                           "CanControl") == [False, False, False, True, True, True],
               what="next, previous and seeking withdrawn")
    device.send("commands play,pause,next")
    wait_until(lambda: can("CanGoNext") == [True], what="next offered again")

    # A jump of the position is Seeked, with where it jumped to; a pause or resume is not.
    watcher = SessionClient(session.address, client)
    try:
        device.send("resume")
        wait_until(lambda: playerctl(session, "-p", name, "status").stdout.strip() == "Playing",
                   what="playing again")
        device.send("seek 200")
        seeked = watcher.wait_for(lambda: watcher.named("Seeked"), what="Seeked")
        assert len(seeked) == 1 and abs(seeked[0].body[0] - 200_000_000) < 1_500_000, seeked
        position = float(playerctl(session, "-p", name, "position").stdout)
        assert 199 < position < 202, position
    finally:
        watcher.close()


def test_what_a_broken_device_reports_leaves_the_player_sane(client, fake, mpris, session):
    bridge = mpris()
    device = fake()
    path = connected(client, device)
    name = player_name(path)
    device.send('play title="Sane" duration=300 position=10 rate=1 app=com.apple.TVMusic')
    wait_until(lambda: metadata(session, name, "xesam:title") == "Sane", what="the title")
    for line in ("hostile rate nan", "hostile rate inf", "hostile duration 1e300",
                 "hostile position -5", "hostile position 1e300", "hostile invalid-utf8"):
        device.send(line)
        device.expect("SCRIPTED")
        # Each still reads as numbers and text within the specification's types.
        position = playerctl(session, "-p", name, "position")
        assert position.returncode == 0 and float(position.stdout) >= 0, (line, position)
        shown = playerctl(session, "-p", name, "metadata")
        assert shown.returncode == 0, (line, shown)
    assert bridge.process.poll() is None
    device.send('play title="Next" duration=300 position=0 rate=1 app=com.apple.TVMusic')
    wait_until(lambda: metadata(session, name, "xesam:title") == "Next", what="the next title")


def test_players_go_with_close_and_with_atvd(client, daemon, fake, mpris, session):
    mpris()
    device = fake()
    path = connected(client, device)
    name = player_name(path)
    wait_until(lambda: name in players(session), what="the player listed")

    client.atvd(path, DEVICE, "Close")
    wait_until(lambda: name not in players(session), what="the player gone after Close")
    client.atvd(path, DEVICE, "Connect")
    wait_until(lambda: name in players(session), what="the player back after Connect")

    # atvd stops: no stale player. It comes back: so does the player, once connected again.
    daemon.stop()
    wait_until(lambda: name not in players(session), what="the player gone with atvd")
    daemon.start()
    client.wait_for(lambda: path in client.devices(), what="the device known again")
    client.wait_for(lambda: client.get(path, DEVICE, "Connected") or
                    _connect(client, path), timeout=20, what="connected again")
    wait_until(lambda: name in players(session), what="the player back with atvd")
    device.send('play title="Again" duration=300 position=0 rate=1 app=com.apple.TVMusic')
    wait_until(lambda: metadata(session, name, "xesam:title") == "Again", what="the title")


def _connect(client, path):
    try:
        client.atvd(path, DEVICE, "Connect")
        return True
    except BusError:  # the restarted atvd may not have resolved the device yet: try again
        return False


def test_a_user_outside_group_atvd_sees_but_cannot_control(client, fake, mpris, session):
    mpris(user=STRANGER)
    device = fake()
    path = connected(client, device)
    name = player_name(path)
    bus_name = f"org.mpris.MediaPlayer2.{name}"
    device.send('play title="Song" duration=300 position=10 rate=1 app=com.apple.TVMusic')
    # playerctl skips players that cannot be controlled even for reading: busctl reads.
    wait_until(lambda: '"xesam:title" s "Song"' in busctl(
        session, "get-property", bus_name, MPRIS_PATH, PLAYER_IFACE, "Metadata").stdout,
        what="the title")
    stranger_uid = subprocess.run(["id", "-u", STRANGER], capture_output=True,
                                  text=True).stdout.strip()
    owner = busctl(session, "status", bus_name)
    assert f"UID={stranger_uid}" in owner.stdout, owner

    can = busctl(session, "get-property", bus_name, MPRIS_PATH, PLAYER_IFACE, "CanControl",
                 "CanPlay", "CanPause", "CanGoNext", "CanSeek")
    assert can.stdout.split() == ["b", "false"] * 5, can
    played = busctl(session, "call", bus_name, MPRIS_PATH, PLAYER_IFACE, "Play")
    assert played.returncode != 0 and "group 'atvd'" in played.stderr, played
    volume = busctl(session, "set-property", bus_name, MPRIS_PATH, PLAYER_IFACE, "Volume", "d",
                    "0.2")
    assert volume.returncode != 0, volume
    assert playerctl(session, "-p", name, "play-pause").returncode != 0
    # Nothing reached the device; its artwork is not fetched for this user either.
    with pytest.raises(AssertionError):
        device.expect("COMMAND ", timeout=1)
    assert "mpris:artUrl" not in busctl(session, "get-property", bus_name, MPRIS_PATH,
                                        PLAYER_IFACE, "Metadata").stdout


def _signature(element):
    return [(arg.get("type"), arg.get("direction", "out" if element.tag == "signal" else "in"))
            for arg in element.findall("arg")]


def _members(interface):
    methods = {m.get("name"): _signature(m) for m in interface.findall("method")}
    signals = {s.get("name"): [t for t, _ in _signature(s)] for s in interface.findall("signal")}
    properties = {}
    for prop in interface.findall("property"):
        emits = {a.get("value") for a in prop.findall("annotation")
                 if a.get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal"}
        properties[prop.get("name")] = (prop.get("type"), prop.get("access"),
                                        "false" in emits)
    return methods, signals, properties


def test_the_interfaces_match_the_specification(client, fake, mpris, session):
    mpris()
    device = fake()
    path = connected(client, device)
    bus_name = f"org.mpris.MediaPlayer2.{player_name(path)}"
    wait_until(lambda: player_name(path) in players(session), what="the player listed")
    result = subprocess.run(
        ["dbus-send", f"--bus={session.address}", "--print-reply=literal",
         f"--dest={bus_name}", MPRIS_PATH, "org.freedesktop.DBus.Introspectable.Introspect"],
        capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result
    served = {i.get("name"): i for i in ET.fromstring(result.stdout.strip()).findall("interface")}
    spec = ET.parse(SPEC_XML).getroot().findall("interface")
    assert {i.get("name") for i in spec} == {"org.mpris.MediaPlayer2", PLAYER_IFACE}
    for interface in spec:
        name = interface.get("name")
        assert name in served, name
        want_methods, want_signals, want_properties = _members(interface)
        methods, signals, properties = _members(served[name])
        for method, signature in want_methods.items():
            assert methods.get(method) == signature, (name, method, methods.get(method))
        for sig, types in want_signals.items():
            assert signals.get(sig) == types, (name, sig)
        for prop, (type_, access, no_signal) in want_properties.items():
            assert prop in properties, (name, prop)
            assert properties[prop][:2] == (type_, access), (name, prop, properties[prop])
            if no_signal:
                assert properties[prop][2], (name, prop, "must not emit PropertiesChanged")


SYSTEM_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def test_players_survive_a_restart_of_the_system_bus(fake, mpris, session, monkeypatch):
    """A system bus of the test's own, so it can be stopped and started again: atvd ends with
    it (as it does), atvd-mpris drops its players, finds the bus again and follows the new
    atvd. atvd finds the fake by AddDevice, as Avahi is on the environment's bus."""
    folder = tempfile.mkdtemp(prefix="mpris-system-")
    socket = os.path.join(folder, "bus")
    conf = os.path.join(folder, "system.conf")
    with open(conf, "w") as f:
        f.write(SYSTEM_CONF.format(socket=socket))

    def start_bus():
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork",
                                "--print-address=1"], stdout=subprocess.PIPE, text=True)
        assert bus.stdout.readline().startswith("unix:")
        return bus

    device = fake()  # published through the environment's Avahi, on its system bus
    bus = start_bus()
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={socket}")
    bridge = mpris()
    state_dir = tempfile.mkdtemp(prefix="mpris-atvd-state-")
    daemons = []

    def start_atvd_and_connect(pair):
        daemon = Daemon(state_dir=state_dir).start()
        daemons.append(daemon)
        client = Client()
        try:
            service = ["mrp", device.port, device.identifier, {"AllowPairing": "YES"}, ""]
            path = client.atvd(MANAGER, "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)",
                               ["127.0.0.1", device.name, [service]])[0]
            if pair:
                pair_with_pin(client, device, path, "mrp")
            client.atvd(path, DEVICE, "Connect")
        finally:
            client.close()
        return daemon, path

    try:
        daemon, path = start_atvd_and_connect(pair=True)
        name = player_name(path)
        wait_until(lambda: name in players(session), what="the player listed")

        bus.terminate()
        bus.wait(5)
        daemon.process.wait(10)  # atvd ends with its bus
        wait_until(lambda: name not in players(session), what="the player gone with the bus")
        wait_until(lambda: "lost the system bus" in bridge.output(), what="the loss logged")
        assert bridge.process.poll() is None

        bus = start_bus()
        daemon, path = start_atvd_and_connect(pair=False)
        wait_until(lambda: name in players(session), timeout=40, what="the player back")
        device.send('play title="Back" duration=300 position=0 rate=1 app=com.apple.TVMusic')
        wait_until(lambda: metadata(session, name, "xesam:title") == "Back", what="the title")
    finally:
        for daemon in daemons:
            daemon.stop()
        bus.terminate()
        bus.wait(5)


@pytest.mark.parametrize("args, code, text", [
    (["--bogus"], 2, "unknown argument '--bogus'"),
    (["--session-bus-address"], 2, "--session-bus-address needs an address"),
    (["--help"], 0, "--system-bus-address ADDRESS"),
    (["--session-bus-address", "unix:path=/nonexistent/bus"], 1, "cannot reach the session bus"),
])
def test_usage_and_unreachable_session_bus(args, code, text):
    result = subprocess.run([os.environ["ATVD_MPRIS_BINARY"], *args], capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == code, result
    assert text in result.stdout + result.stderr, result
