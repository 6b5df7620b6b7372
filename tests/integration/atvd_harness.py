"""Drives a real atvd through D-Bus, inside the environment of tests/env/isolated.

Everything here talks to atvd the way its users do: over the system bus, with dbus-next.
Services are published through the environment's real avahi-daemon with avahi-publish.
"""

import asyncio
import glob
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus

BUS_NAME = "org.atvd"
MANAGER = "/org/atvd"
ERROR_PREFIX = "org.atvd.Error."
DEVICE = "org.atvd.Device1"
SERVICE = "org.atvd.Service1"
HANDLER = "org.atvd.PairingHandler1"


class BusError(Exception):
    def __init__(self, name, text):
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


class Client:
    """A synchronous D-Bus client that records every signal atvd sends."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.bus = self.loop.run_until_complete(MessageBus(bus_type=BusType.SYSTEM).connect())
        self.signals = []
        self.bus.add_message_handler(self._on_message)
        self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "AddMatch", "s", [f"type='signal',sender='{BUS_NAME}'"])

    def _on_message(self, message):
        if message.message_type == MessageType.SIGNAL:
            self.signals.append(message)
        return None

    def close(self):
        if self.loop.is_closed():
            return
        self.bus.disconnect()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    def call(self, destination, path, interface, member, signature="", body=None, timeout=30):
        message = Message(destination=destination, path=path, interface=interface,
                          member=member, signature=signature, body=body or [])
        reply = self.loop.run_until_complete(
            asyncio.wait_for(self.bus.call(message), timeout))
        if reply.message_type == MessageType.ERROR:
            raise BusError(reply.error_name, reply.body[0] if reply.body else "")
        return reply.body

    def atvd(self, path, interface, member, signature="", body=None, timeout=30):
        return self.call(BUS_NAME, path, interface, member, signature, body, timeout)

    def get(self, path, interface, name):
        return self.atvd(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                         [interface, name])[0].value

    def get_all(self, path, interface):
        values = self.atvd(path, "org.freedesktop.DBus.Properties", "GetAll", "s", [interface])[0]
        return {key: value.value for key, value in values.items()}

    def managed_objects(self):
        objects = self.atvd(MANAGER, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")[0]
        return {path: {iface: {k: v.value for k, v in props.items()}
                       for iface, props in ifaces.items()}
                for path, ifaces in objects.items()}

    def scan(self, timeout=None, **keys):
        filter_ = {}
        for key, value in keys.items():
            filter_[key] = Variant("as", value)
        if timeout is not None:
            filter_["Timeout"] = Variant("u", timeout)
        return self.atvd(MANAGER, "org.atvd.Manager1", "Scan", "a{sv}", [filter_],
                         timeout=60)[0]

    def find(self, identifier, *services, timeout=10):
        """The path of the device a scan for `identifier` finds, once the objects of the named
        `services` ("mrp", "airplay", ...) are there too."""
        paths = self.scan(Identifiers=[identifier], timeout=int(timeout * 1000))
        assert paths, f"{identifier} not found"
        path = paths[0]
        self.wait_for(lambda: all(f"{path}/{service}" in self.managed_objects()
                                  for service in services),
                      what=f"the services {services} of {identifier}")
        return path

    def devices(self):
        return {path: ifaces[DEVICE]
                for path, ifaces in self.managed_objects().items()
                if DEVICE in ifaces}

    def pump(self, seconds):
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def wait_for(self, predicate, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.pump(0.05)

    def signals_named(self, member, path=None):
        return [s for s in self.signals
                if s.member == member and (path is None or s.path == path)]


class Daemon:
    """One atvd process with its own state folder."""

    def __init__(self, state_dir=None, extra_args=(), log_level="debug", env=None):
        self.binary = os.environ["ATVD_BINARY"]
        self.env = dict(os.environ, **(env or {}))
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="atvd-state-")
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.log_path = os.path.join(tempfile.mkdtemp(prefix="atvd-log-"), "atvd.log")
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "--system", "--state-dir", self.state_dir,
             "--log-level", self.log_level, "--vanish-grace", "1500", *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"atvd exited with {self.process.returncode}:\n{self.output()}")
            if name_has_owner(BUS_NAME):
                return self
            time.sleep(0.02)
        raise AssertionError("atvd did not take its bus name:\n" + self.output())

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        code = self.process.returncode if self.process else None
        self.process = None
        return code

    def output(self):
        return read_log(self.log_path)


def read_log(path):
    with open(path, "rb") as log:
        return log.read().decode("utf-8", "replace")


def name_has_owner(name):
    result = subprocess.run(
        ["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
         "org.freedesktop.DBus", "NameHasOwner", "s", name],
        capture_output=True, text=True)
    return result.stdout.strip() == "b true"


class Publisher:
    """Services published through the environment's avahi-daemon."""

    def __init__(self):
        self.processes = []

    def publish(self, name, service_type, port, txt):
        args = ["avahi-publish", "-s", name, service_type, str(port)]
        args += [f"{key}={value}" if value is not None else key for key, value in txt.items()]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.processes.append(process)
        return process

    def withdraw(self, process):
        process.terminate()
        process.wait()
        self.processes.remove(process)

    def withdraw_all(self):
        for process in list(self.processes):
            self.withdraw(process)


APPLE_TV_4K = {
    "name": "Living Room",
    "mac": "AA:BB:CC:DD:EE:01",
    "mrp_id": "5D797FD3-4E2B-4B5F-9E3A-1A2B3C4D5E01",
    "companion_id": "E7E0B6B2-8C31-4C55-9C3B-7F2D1A0B0C01",
}


def publish_apple_tv_4k(publisher, name="Living Room", mac="AA:BB:CC:DD:EE:01",
                        mrp_id="5D797FD3-4E2B-4B5F-9E3A-1A2B3C4D5E01", mrp_port=49152,
                        build="17K795", companion_id=None):
    """MRP + AirPlay + Companion + RAOP + device-info, as an Apple TV 4K announces them."""
    companion_id = companion_id or "E7E0B6B2-8C31-4C55-9C3B-" + mac.replace(":", "")
    publisher.publish(name, "_mediaremotetv._tcp", mrp_port, {
        "ModelName": "Apple TV", "AllowPairing": "YES", "macAddress": mac.lower(),
        "BluetoothAddress": "", "Name": name, "UniqueIdentifier": mrp_id,
        "SystemBuildVersion": build, "LocalAirPlayReceiverPairingIdentity": mrp_id})
    publisher.publish(name, "_airplay._tcp", 7000, {
        "acl": "0", "deviceid": mac, "features": "0x5A7FFFF7,0x1E", "flags": "0x244",
        "model": "AppleTV6,2", "osvers": "13.3.1", "pk": "0" * 64, "pi": mrp_id.lower(),
        "srcvers": "415.3", "vv": "2"})
    publisher.publish(name, "_companion-link._tcp", 49153, {
        "rpMac": "2", "rpHN": "c6d7d5d1a7f3", "rpFl": "0x36782", "rpHA": "9948cfb6da55",
        "rpVr": "195.2", "rpMd": "AppleTV6,2", "rpHI": "4bd1e4d4e4fd", "rpMRtID": companion_id,
        "rpBA": "5E:3A:9F:12:34:56", "rpAD": "cc5011ae31ee", "rpMd2": "x"})
    publisher.publish(mac.replace(":", "") + "@" + name, "_raop._tcp", 7000, {
        "cn": "0,1,2,3", "da": "true", "et": "0,3,5", "ft": "0x5A7FFFF7,0x1E", "md": "0,1,2",
        "am": "AppleTV6,2", "sf": "0x244", "tp": "UDP", "vn": "65537", "vs": "415.3",
        "ov": "13.3.1", "vv": "2"})
    publisher.publish(name, "_device-info._tcp", 0, {"model": "J105aAP"})


class FakeAppleTV:
    """The project's fake Apple TV as a process: publishes through Avahi, shows PINs."""

    started = []  # every fake of the running test, whose logs a failed test shows

    def __init__(self, name, identifier, mac, *extra, prefix=()):
        """`prefix` runs the fake through a command (`ip netns exec NS`, say)."""
        self.lines = queue.Queue()
        self.name = name
        self.identifier = identifier
        self.log = tempfile.NamedTemporaryFile(prefix="fake-atv-", suffix=".log")
        self.process = subprocess.Popen(
            [*prefix, os.environ["FAKE_ATV_BINARY"], "--name", name, "--id", identifier,
             "--mac", mac, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        FakeAppleTV.started.append(self)
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(self.expect("READY ").split()[1])

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix, timeout=15):
        """Waits for a line starting with prefix; the lines before it are dropped."""
        return self.expect_all([prefix], timeout)[0]

    def expect_all(self, prefixes, timeout=15):
        """Waits for a line starting with each prefix, in whatever order they come."""
        deadline = time.monotonic() + timeout
        missing = list(prefixes)
        found = []
        while missing:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"fake Apple TV printed no line for {missing}")
            for prefix in missing:
                if line.startswith(prefix):
                    missing.remove(prefix)
                    found.append(line)
                    break
        return found

    def output(self):
        return read_log(self.log.name)

    def send(self, line):
        """Writes one script line to the fake's stdin (tests/fakes/README.md lists them)."""
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def pin(self, timeout=15):
        return self.expect("PIN ", timeout).split()[1]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # In a sanitizer build a report (a leak found at exit, say) fails the test.
        if "Sanitizer" in self.output():
            raise AssertionError(f"fake Apple TV '{self.name}':\n{self.output()[-6000:]}")


class LinkedNamespace:
    """A network namespace joined to this one by a veth pair, 10.77.N.1 here and 10.77.N.2
    inside: another link, whose cable a test can pull without either end seeing a FIN."""

    def __init__(self, number):
        self.number = number
        self.name = f"atvd-link{number}"
        self.host_address = f"10.77.{number}.1"
        self.address = f"10.77.{number}.2"
        self.inside = ["ip", "netns", "exec", self.name]
        self.run("ip", "netns", "add", self.name)
        self.run("ip", "link", "add", f"vh{number}", "type", "veth", "peer", "name", f"vs{number}")
        self.run("ip", "link", "set", f"vs{number}", "netns", self.name)
        self.run("ip", "addr", "add", f"{self.host_address}/24", "dev", f"vh{number}")
        self.run("ip", "link", "set", f"vh{number}", "up")
        self.run(*self.inside, "ip", "addr", "add", f"{self.address}/24", "dev", f"vs{number}")
        self.run(*self.inside, "ip", "link", "set", f"vs{number}", "up")
        self.run(*self.inside, "ip", "link", "set", "lo", "up")

    @staticmethod
    def run(*args):
        subprocess.run(args, check=True, capture_output=True)

    def cable(self, plugged):
        """Sets the inner end up or down: packets to it are dropped, nobody says goodbye."""
        self.run(*self.inside, "ip", "link", "set", f"vs{self.number}",
                 "up" if plugged else "down")

    def close(self):
        for pid in subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                                  text=True).stdout.split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "link", "del", f"vh{self.number}"], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def credential_files(state_dir):
    """The files of a state directory that hold stored credentials."""
    return sorted(glob.glob(os.path.join(state_dir, "*.creds")))


def stored_secrets(state_dir):
    """The secret fields of every stored credential, as they would appear in a log."""
    secrets = []
    for path in credential_files(state_dir):
        with open(path) as f:
            for line in f:
                if line.startswith("credentials "):
                    value = line.split(" ", 2)[2].strip()
                    secrets.append(value)
                    secrets.extend(part for part in value.split(":") if len(part) >= 32)
    return secrets


def wrong_pin(shown):
    """A PIN that is not the one shown."""
    return "0000" if shown != "0000" else "1111"


def wrong_then_right_pin(client, device, handler, service):
    """Drives an open handler as a user who mistypes: a wrong PIN fails with PairingFailed naming
    the PIN and leaves the service (its object path) unpaired; the same handler, begun again,
    pairs with the PIN `device` shows."""
    client.atvd(handler, HANDLER, "Begin")
    client.atvd(handler, HANDLER, "Pin", "s", [wrong_pin(device.pin())])
    try:
        client.atvd(handler, HANDLER, "Finish")
        raise AssertionError("a wrong PIN paired")
    except BusError as error:
        assert error.name == ERROR_PREFIX + "PairingFailed", error
        assert "PIN" in error.text, error
    assert client.get(handler, HANDLER, "State") == "failed"
    assert client.get(service, SERVICE, "Paired") is False

    client.atvd(handler, HANDLER, "Begin")
    client.atvd(handler, HANDLER, "Pin", "s", [device.pin()])
    client.atvd(handler, HANDLER, "Finish")
    assert client.get(handler, HANDLER, "HasPaired") is True
    assert client.get(service, SERVICE, "Paired") is True


def pair_with_pin(client, device, path, protocol="mrp", name=None):
    """Pairs `protocol` of the device at `path` as a user would, typing the PIN the fake
    `device` shows, and closes the handler; fails unless the pairing succeeded."""
    options = {"Name": Variant("s", name)} if name else {}
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", [protocol, options])[0]
    client.atvd(handler, HANDLER, "Begin")
    client.atvd(handler, HANDLER, "Pin", "s", [device.pin()])
    client.atvd(handler, HANDLER, "Finish")
    assert client.get(handler, HANDLER, "HasPaired") is True
    client.atvd(handler, HANDLER, "Close")
    client.wait_for(lambda: handler not in client.managed_objects(), what="the handler gone")


def add_by_hand(client, address, name, port, identifier, mac=None):
    """Manager1.AddDevice of an MRP service as an Apple TV announces it; returns its path."""
    properties = {"AllowPairing": "YES", "ModelName": "Apple TV", "Name": name,
                  "UniqueIdentifier": identifier}
    if mac:
        properties["macAddress"] = mac.lower()
    return client.atvd(MANAGER, "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)",
                       [address, name, [["mrp", port, identifier, properties, ""]]])[0]


def run_as(user, *args):
    """busctl (or anything) as another local user."""
    return subprocess.run(["runuser", "-u", user, "--", *args], capture_output=True, text=True)


def start_fakes(specs):
    """Starts many fake Apple TVs at once; each spec is the argument tuple of FakeAppleTV.

    Each fake is ready only once Avahi has announced it (close to a second of probing), so
    starting them one by one would take that long per device.
    """
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda spec: FakeAppleTV(*spec), specs))
