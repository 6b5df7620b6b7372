"""Figures for atvd as a whole, measured through D-Bus like a user would see them.

Run inside tests/env/isolated (tools/bench does). Prints one table; never pass/fail.

- start-up: from exec to owning org.atvd on the bus
- discovery: Avahi's resolve of a new service (seen by a resolver of our own on the same
  avahi-daemon) to atvd's InterfacesAdded for it
- Scan() round trip with 1 and with 1,000 known devices
- unicast Scan(Hosts) of one responsive host (a real avahi-daemon in a namespace)
- resident memory idle, with 1,000 devices and with 50 connected; wake-ups per second and CPU
  while idle
- control of a connected fake Apple TV: a change the fake is told of until a client has the
  Player1 PropertiesChanged (and the fake's own part of that), Press(select) until the fake
  has the key and until the call returns; 50 connected fakes each pushing 20 title changes a
  second: atvd's CPU, its memory at the start and the end (--soak-minutes, 1 by default) and
  the latency of one device's updates meanwhile (atvd paces its loop under such load)
- with --system-control (alone): TurnOn and Launch round trips through D-Bus against a fake
  Apple TV connected over MRP and Companion, and ListApps with 1,000 apps
- with --auto-connect (alone): a paired device with AutoConnect announced again through Avahi
  until connected (from its new port on Service1, so Avahi's own delay is left out); the loss of
  a silent peer (its link cut in a network namespace) until ConnectionState says so; 50 devices
  with AutoConnect, all lost and reconnected, then idle: atvd's CPU and wake-ups
- with --micro, libatv's own figures from Google Benchmark's JSON output (Connect over MRP,
  the AirPlay tunnel and Companion, messages per second, parsers) join the same table
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus

AVAHI = "org.freedesktop.Avahi"
IF_UNSPEC = -1
PROTO_INET = 0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def anonymous_kib(pid):
    """Resident memory not backed by a file: heap and stacks, what atvd itself allocates. The
    rest of its RSS is the code of the shared libraries it needs, shared with other processes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def private_kib(pid):
    """Memory only this process uses (USS): what it costs beside the shared libraries."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def cpu_split(pid):
    """Seconds of CPU a process spent in its own code and in the kernel on its behalf."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


async def count_syscalls(pid, seconds):
    """System calls of a process over `seconds`, in all and of the kinds an update costs, from
    perf's tracepoints (perf and tracefs needed; {} without them)."""
    kinds = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{name}" for name in
                                          ("epoll_wait", "epoll_ctl", "recvfrom", "sendmsg")]
    try:
        perf = await asyncio.create_subprocess_exec(
            "perf", "stat", "-x,", "-e", ",".join(kinds), "-p", str(pid), "--", "sleep",
            str(seconds), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        return {}
    _, report = await perf.communicate()
    counts = {}
    for line in report.decode(errors="replace").splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].isdigit():
            event = fields[2]
            name = "all" if event.startswith("raw_") else event.removeprefix("syscalls:sys_enter_")
            counts[name] = int(fields[0])
    return counts


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def context_switches(pid):
    total = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if "ctxt_switches" in line:
                total += int(line.split()[1])
    return total


def p95(values):
    return statistics.quantiles(values, n=20)[18]


def build_description(atvd):
    """Which build of atvd runs, from Meson's introspection of its build folder: the
    sanitizers make it several times slower and larger."""
    folder = os.path.dirname(os.path.dirname(os.path.abspath(atvd)))
    try:
        with open(os.path.join(folder, "meson-info", "intro-buildoptions.json")) as f:
            options = {option["name"]: option["value"] for option in json.load(f)}
    except OSError:
        return f"{atvd} (not a Meson build folder)"
    sanitized = options.get("sanitizers") or options.get("b_sanitize", "none") != "none"
    return (f"{os.path.basename(folder)} (buildtype {options.get('buildtype')}, "
            + ("ASan+UBSan: CPU inflated, and memory grows while ASan's quarantine of freed "
               "blocks fills, up to 256 MiB)" if sanitized else "no sanitizers)"))


class Fake:
    """A fake-atv process whose stdout lines are read as they come, each with the time it
    arrived, and whose media side is scripted through its stdin."""

    def __init__(self, process):
        self.process = process
        self.lines = asyncio.Queue()
        self.keep_lines = True  # off while only the load matters: nobody reads them then
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, name, identifier, mac, publish=False, extra=()):
        process = await asyncio.create_subprocess_exec(
            os.environ["FAKE_ATV_BINARY"], "--name", name, "--id", identifier, "--mac", mac,
            *([] if publish else ["--no-publish"]), *extra, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        fake = cls(process)
        fake.port = int((await fake.expect("READY "))[1].split()[1])
        return fake

    async def _read(self):
        while line := await self.process.stdout.readline():
            if self.keep_lines:
                self.lines.put_nowait((time.perf_counter(), line.decode().strip()))

    async def expect(self, prefix, timeout=10):
        """The first line from now on that starts with `prefix`, and when it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            arrived, line = await asyncio.wait_for(self.lines.get(), deadline - time.monotonic())
            if line.startswith(prefix):
                return arrived, line

    def send(self, line):
        """One script line; returns when it is written to the fake's stdin."""
        self.process.stdin.write((line + "\n").encode())
        return time.perf_counter()

    async def stop(self):
        self.process.terminate()
        await self.process.wait()
        await self.reader


class Bench:
    def __init__(self, atvd, soak_minutes=1.0, control_only=False, system_control=False,
                 auto_connect=False, count_syscalls=False):
        self.atvd_binary = atvd
        self.count_syscalls = count_syscalls
        self.auto_connect_only = auto_connect
        self.soak_seconds = soak_minutes * 60
        self.control_only = control_only
        self.system_control_only = system_control
        self.rows = []

    async def call(self, bus, dest, path, iface, member, sig="", body=None):
        reply = await bus.call(Message(destination=dest, path=path, interface=iface,
                                       member=member, signature=sig, body=body or []))
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"{reply.error_name}: {reply.body}")
        return reply.body

    def row(self, what, value, unit, goal):
        self.rows.append((what, value, unit, goal))

    async def start_atvd(self, bus, config=""):
        owned = asyncio.get_running_loop().create_future()

        def on_message(message):
            if (message.member == "NameOwnerChanged" and message.body[0] == "org.atvd"
                    and message.body[2] and not owned.done()):
                owned.set_result(time.perf_counter())
        bus.add_message_handler(on_message)
        await self.call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "AddMatch", "s",
                        ["type='signal',member='NameOwnerChanged',arg0='org.atvd'"])
        state = tempfile.mkdtemp(prefix="atvd-bench-")
        config_path = os.path.join(state, "atvd.conf")
        with open(config_path, "w") as f:
            f.write(config)
        started = time.perf_counter()
        # Its warnings (devices the benchmark stops) would only clutter the table.
        self.process = subprocess.Popen([self.atvd_binary, "--system", "--state-dir", state,
                                         "--config", config_path, "--log-level", "error"],
                                        stderr=subprocess.DEVNULL)
        ready = await asyncio.wait_for(owned, 10)
        bus.remove_message_handler(on_message)
        return (ready - started) * 1000

    async def publish(self, bus, services):
        group = (await self.call(bus, AVAHI, "/", "org.freedesktop.Avahi.Server",
                                 "EntryGroupNew"))[0]
        for name, kind, port, txt in services:
            await self.call(bus, AVAHI, group, "org.freedesktop.Avahi.EntryGroup", "AddService",
                            "iiussssqaay", [IF_UNSPEC, PROTO_INET, 0, name, kind, "", "", port,
                                            [f"{k}={v}".encode() for k, v in txt.items()]])
        await self.call(bus, AVAHI, group, "org.freedesktop.Avahi.EntryGroup", "Commit")
        return group

    async def discovery_latency(self, bus, kind="_mediaremotetv._tcp", samples=20):
        """Our own resolver and atvd both learn of the service from the same avahi-daemon.
        A device first seen through MRP is exported at once; through another protocol, after
        the window in which its other services may arrive (Settings::new_device_settle)."""
        added = {}
        resolved = {}

        def on_message(message):
            now = time.perf_counter()
            if message.member == "InterfacesAdded" and message.path == "/org/atvd":
                added.setdefault(message.body[0], now)
            elif message.member == "Found" and message.interface == "org.freedesktop.Avahi.ServiceResolver":
                resolved.setdefault(message.body[2], now)
        bus.add_message_handler(on_message)
        await self.call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "AddMatch", "s", ["type='signal'"])
        latencies = []
        for i in range(samples):
            name = f"Latency {kind} {i}"
            if kind == "_mediaremotetv._tcp":
                txt = {"Name": name, "UniqueIdentifier": f"latency-{i:04d}",
                       "SystemBuildVersion": "17K795"}
                path = "/org/atvd/devices/latency_" + f"{i:04d}"
            else:
                txt = {"deviceid": f"AA:BB:CC:DD:{i // 256:02X}:{i % 256:02X}",
                       "model": "AppleTV14,1", "osvers": "17.0", "features": "0x4A7FDFD5,0x3C155FDE"}
                path = "/org/atvd/devices/AA_BB_CC_DD_" + f"{i // 256:02X}_{i % 256:02X}"
            # Resolve it ourselves the moment it exists, as atvd does.
            await self.call(bus, AVAHI, "/", "org.freedesktop.Avahi.Server",
                            "ServiceResolverNew", "iisssiu",
                            [IF_UNSPEC, PROTO_INET, name, kind, "local", PROTO_INET, 0])
            group = await self.publish(bus, [(name, kind, 40000 + i, txt)])
            deadline = time.monotonic() + 10
            while (path not in added or name not in resolved) and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            if path in added and name in resolved:
                latencies.append((added[path] - resolved[name]) * 1000)
            await self.call(bus, AVAHI, group, "org.freedesktop.Avahi.EntryGroup", "Free")
        bus.remove_message_handler(on_message)
        # Later figures make atvd signal a thousand times a second: none of it is for us.
        await self.call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "RemoveMatch", "s", ["type='signal'"])
        return latencies

    async def unicast_scan(self, bus, rounds=5):
        """Scan(Hosts) of the loopback address, where this environment's avahi-daemon answers."""
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            found = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "Scan",
                                     "a{sv}", [{"Hosts": Variant("as", ["127.0.0.1"]),
                                                "Timeout": Variant("u", 2000)}]))[0]
            if not found:
                return []
            times.append((time.perf_counter() - started) * 1000)
        return times

    async def scan_round_trip(self, bus, rounds=200):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "Scan", "a{sv}",
                            [{"Timeout": Variant("u", 0)}])
            times.append((time.perf_counter() - started) * 1000)
        return times

    async def wait_devices(self, bus, count, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "Scan",
                                     "a{sv}", [{"Timeout": Variant("u", 0)}]))[0]
            if len(found) >= count:
                return len(found)
            await asyncio.sleep(0.5)
        return len(found)

    async def run(self):
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        if self.system_control_only:
            await self.start_atvd(bus)
            await self.system_control(bus)
            self.process.terminate()
            self.process.wait()
            return
        if self.auto_connect_only:
            # A minute's back-off: only discovery can bring a device back within it.
            await self.start_atvd(bus, "reconnect-first-ms = 60000\nreconnect-max-ms = 60000\n")
            await self.reannounce_to_connected(bus)
            await self.silent_peer(bus)
            self.process.terminate()
            self.process.wait()
            await self.start_atvd(bus, "reconnect-first-ms = 200\nreconnect-max-ms = 2000\n")
            await self.idle_auto_connected(bus, 50)
            self.process.terminate()
            self.process.wait()
            return
        if self.control_only:
            await self.start_atvd(bus)
        else:
            await self.daemon_figures(bus)  # leaves atvd running, 1,000 devices known
        await self.pair_and_connect(bus)
        await self.many_connected(bus, 50)
        self.process.terminate()
        self.process.wait()

    async def daemon_figures(self, bus):
        startups = []
        for _ in range(5):
            startups.append(await self.start_atvd(bus))
            self.process.terminate()
            self.process.wait()
        self.row("start-up to owning org.atvd (median of 5)", statistics.median(startups), "ms", "≤ 50")

        startup = await self.start_atvd(bus)
        await asyncio.sleep(3.5)  # past the first Scan timeout
        pid = self.process.pid
        self.row("resident memory, idle", rss_kib(pid) / 1024, "MiB", "≤ 6")
        self.row("private memory (USS), idle", private_kib(pid) / 1024, "MiB", "-")
        self.row("anonymous memory (heap, stacks), idle", anonymous_kib(pid) / 1024, "MiB", "-")
        before = context_switches(pid)
        await asyncio.sleep(5)
        self.row("wake-ups per second, idle", (context_switches(pid) - before) / 5, "/s", "0")

        latencies = await self.discovery_latency(bus)
        if latencies:
            self.row("Avahi resolve → InterfacesAdded, MRP (median)", statistics.median(latencies), "ms", "≤ 2")
        latencies = await self.discovery_latency(bus, "_airplay._tcp")
        if latencies:
            self.row("Avahi resolve → InterfacesAdded, AirPlay first (median)",
                     statistics.median(latencies), "ms", "settle 200")
        times = await self.scan_round_trip(bus)
        known = await self.wait_devices(bus, 1, 5)
        self.row(f"Scan() round trip, {known} devices known (median)", statistics.median(times), "ms", "≤ 2")

        services = [(f"Bulk {i}", "_mediaremotetv._tcp", 41000 + (i % 20000),
                     {"Name": f"Bulk {i}", "UniqueIdentifier": f"bulk-{i:05d}",
                      "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
                    for i in range(1000)]
        await self.publish(bus, services[:100])
        known = await self.wait_devices(bus, 100, 60)
        times = await self.scan_round_trip(bus, 100)
        self.row(f"Scan() round trip, {known} devices known (median)", statistics.median(times), "ms", "-")
        times = await self.unicast_scan(bus)
        if times:
            self.row("unicast Scan(Hosts) of one responsive host (median)", statistics.median(times), "ms", "≤ 50")

        started = time.monotonic()
        await self.publish(bus, services[100:])
        known = await self.wait_devices(bus, 1000, 120)
        self.row(f"time until {known} published devices are objects", time.monotonic() - started, "s", "-")
        times = await self.scan_round_trip(bus, 50)
        self.row(f"Scan() round trip, {known} devices known (median)", statistics.median(times), "ms", "≤ 20")
        self.row(f"resident memory, {known} devices", rss_kib(pid) / 1024, "MiB", "≤ 30")
        self.row(f"private memory (USS), {known} devices", private_kib(pid) / 1024, "MiB", "-")
        self.row(f"anonymous memory, {known} devices", anonymous_kib(pid) / 1024, "MiB", "-")
        before = context_switches(pid)
        cpu_before = cpu_seconds(pid)
        await asyncio.sleep(5)
        self.row(f"wake-ups per second, {known} quiet devices", (context_switches(pid) - before) / 5, "/s", "0")
        self.row(f"CPU while {known} quiet devices are known", (cpu_seconds(pid) - cpu_before) / 5 * 100, "%", "-")

    async def add_and_pair(self, bus, fake, name, identifier):
        """AddDevice for the fake's MRP port and a pairing with the PIN it prints; returns the
        device's path and the daemon's share of the pairing in seconds (Begin, Pin and Finish,
        not the person typing the PIN)."""
        path = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "AddDevice",
                                "ssa(sqsa{ss}s)", ["127.0.0.1", name, [
                                    ["mrp", fake.port, identifier, {"AllowPairing": "YES"},
                                     ""]]]))[0]
        handler = (await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Pair", "sa{sv}",
                                   ["mrp", {}]))[0]
        hp = "org.atvd.PairingHandler1"
        started = time.perf_counter()
        await self.call(bus, "org.atvd", handler, hp, "Begin")
        spent = time.perf_counter() - started
        pin = (await fake.expect("PIN "))[1].split()[1]
        started = time.perf_counter()
        await self.call(bus, "org.atvd", handler, hp, "Pin", "s", [pin])
        await self.call(bus, "org.atvd", handler, hp, "Finish")
        spent += time.perf_counter() - started
        await self.call(bus, "org.atvd", handler, hp, "Close")
        return path, spent

    async def pair_and_connect(self, bus):
        """Pairing and Connect round trips with stored credentials against the fake Apple TV,
        then the control figures of that connection."""
        if not os.environ.get("FAKE_ATV_BINARY"):
            return
        fake = await Fake.start("Bench Room", "bench-0001", "AA:BB:CC:00:0B:01")
        path, spent = await self.add_and_pair(bus, fake, "Bench Room", "bench-0001")
        self.row("pairing Begin + Pin + Finish (MRP, fake)", spent * 1000, "ms", "≤ 30")
        times = []
        for _ in range(20):
            started = time.perf_counter()
            await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Connect")
            times.append((time.perf_counter() - started) * 1000)
            await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Close")
        self.row("Connect with stored credentials (MRP, fake, median)", statistics.median(times), "ms", "≤ 20")
        await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Connect")
        await self.update_latency(bus, fake, path)
        await self.press_round_trip(bus, fake, path)
        await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Close")
        await fake.stop()

    async def pair_service(self, bus, fake, path, protocol):
        hp = "org.atvd.PairingHandler1"
        handler = (await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Pair", "sa{sv}",
                                   [protocol, {}]))[0]
        await self.call(bus, "org.atvd", handler, hp, "Begin")
        pin = (await fake.expect("PIN "))[1].split()[1]
        await self.call(bus, "org.atvd", handler, hp, "Pin", "s", [pin])
        await self.call(bus, "org.atvd", handler, hp, "Finish")
        await self.call(bus, "org.atvd", handler, hp, "Close")

    async def round_trips(self, bus, path, interface, member, sig="", body=None, rounds=200):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            await self.call(bus, "org.atvd", path, interface, member, sig, body)
            times.append((time.perf_counter() - started) * 1000)
        return times

    async def system_control(self, bus, rounds=200):
        """Power1.TurnOn, Apps1.Launch and Apps1.ListApps through D-Bus against a fake Apple TV
        found through Avahi and connected over MRP and Companion: each call until its reply,
        which comes once the fake answered every Companion request it needs."""
        if not os.environ.get("FAKE_ATV_BINARY"):
            return
        fake = await Fake.start("Bench System", "bench-sys-0001", "AA:BB:CC:00:0B:51",
                                publish=True)
        found = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "Scan",
                                 "a{sv}", [{"Identifiers": Variant("as", ["bench-sys-0001"]),
                                            "Timeout": Variant("u", 20000)}]))[0]
        if not found:
            raise RuntimeError("the fake Apple TV was not found through Avahi")
        path = found[0]
        for protocol in ("mrp", "companion"):
            await self.pair_service(bus, fake, path, protocol)
        await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Connect")
        fake.keep_lines = False  # the fake logs every request; nobody needs the lines here

        times = await self.round_trips(bus, path, "org.atvd.Power1", "TurnOn", rounds=rounds)
        self.row(f"TurnOn round trip, Companion (fake, median of {rounds})",
                 statistics.median(times), "ms", "≤ 5")
        self.row("TurnOn round trip, Companion (p95)", p95(times), "ms", "-")
        times = await self.round_trips(bus, path, "org.atvd.Apps1", "Launch", "s",
                                       ["com.apple.TVMusic"], rounds)
        self.row(f"Launch round trip, Companion (fake, median of {rounds})",
                 statistics.median(times), "ms", "≤ 5")
        self.row("Launch round trip, Companion (p95)", p95(times), "ms", "-")

        fake.keep_lines = True
        fake.send("apps-generate 1000")
        await fake.expect("SCRIPTED apps-generate")
        fake.keep_lines = False
        apps = (await self.call(bus, "org.atvd", path, "org.atvd.Apps1", "ListApps"))[0]
        if len(apps) != 1000:
            raise RuntimeError(f"ListApps returned {len(apps)} apps, not 1000")
        times = await self.round_trips(bus, path, "org.atvd.Apps1", "ListApps", rounds=50)
        self.row("ListApps with 1,000 apps, Companion (fake, median of 50)",
                 statistics.median(times), "ms", "≤ 20")
        self.row("ListApps with 1,000 apps (p95)", p95(times), "ms", "-")
        await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Close")
        await fake.stop()

    async def watch_titles(self, bus, path, rule_action="AddMatch"):
        await self.call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", rule_action, "s",
                        [f"type='signal',sender='org.atvd',path='{path}',"
                         "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                         "arg0='org.atvd.Player1'"])

    async def update_latency(self, bus, fake, path, updates=200):
        """A title change the fake is told of on stdin, until a client has the Player1
        PropertiesChanged carrying it. The fake's part (reading the line, applying it and
        sending the update) ends where it prints SCRIPTED, read here like the signal."""
        waiting = {}

        def on_message(message):
            if (message.member == "PropertiesChanged" and message.path == path
                    and message.body[0] == "org.atvd.Player1" and "Title" in message.body[1]):
                arrived = waiting.pop(message.body[1]["Title"].value, None)
                if arrived and not arrived.done():
                    arrived.set_result(time.perf_counter())
        bus.add_message_handler(on_message)
        await self.watch_titles(bus, path)
        loop = asyncio.get_running_loop()
        waiting["Start"] = loop.create_future()
        fake.send('play title="Start" duration=3600 position=0 rate=1 app=com.apple.TVMusic')
        await asyncio.wait_for(waiting["Start"], 10)
        await fake.expect("SCRIPTED play")
        totals, fake_parts, rests = [], [], []
        for n in range(updates):
            title = f"Update {n}"
            waiting[title] = loop.create_future()
            signalled = waiting[title]
            sent = fake.send(f'set title="{title}"')
            acknowledged = (await fake.expect("SCRIPTED set"))[0]
            arrived = await asyncio.wait_for(signalled, 10)
            totals.append((arrived - sent) * 1000)
            fake_parts.append((acknowledged - sent) * 1000)
            rests.append((arrived - acknowledged) * 1000)
        bus.remove_message_handler(on_message)
        await self.watch_titles(bus, path, "RemoveMatch")
        what = "fake told a new title (stdin) → Player1 PropertiesChanged at a client"
        self.row(f"{what} (median of {updates})", statistics.median(totals), "ms", "≤ 1")
        self.row(f"{what} (p95)", p95(totals), "ms", "-")
        self.row("  its part in the fake: stdin line → fake's SCRIPTED line read (median)",
                 statistics.median(fake_parts), "ms", "-")
        # Both lines race to this one event loop: the split is approximate, and can be < 0.
        self.row("  the rest: fake's SCRIPTED line → PropertiesChanged (median, approximate)",
                 statistics.median(rests), "ms", "-")

    async def press_round_trip(self, bus, fake, path, presses=200):
        """Press(select) from the call until the fake prints the key's HID down line, and
        until the call returns (when the device has read the key events)."""
        to_down, to_return = [], []
        for _ in range(presses):
            started = time.perf_counter()
            await self.call(bus, "org.atvd", path, "org.atvd.RemoteControl1", "Press", "sa{sv}",
                            ["select", {}])
            returned = time.perf_counter()
            down = (await fake.expect("HID 1 0x89 down"))[0]
            await fake.expect("HID 1 0x89 up")
            to_down.append((down - started) * 1000)
            to_return.append((returned - started) * 1000)
        self.row(f"Press(select) → the fake prints the HID down (median of {presses})",
                 statistics.median(to_down), "ms", "≤ 3")
        self.row("Press(select) → the fake prints the HID down (p95)", p95(to_down), "ms", "-")
        self.row("Press(select) call returns (median)", statistics.median(to_return), "ms", "≤ 3")
        self.row("Press(select) call returns (p95)", p95(to_return), "ms", "-")

    async def many_connected(self, bus, count, rate=20):
        """Resident memory with `count` devices paired and connected at once, then atvd's CPU
        and memory while each of them pushes `rate` title changes a second."""
        if not os.environ.get("FAKE_ATV_BINARY"):
            return
        fakes = await asyncio.gather(*[
            Fake.start(f"Connected {n}", f"connected-{n:04d}", f"AA:BB:CC:00:0C:{n:02X}")
            for n in range(count)])
        paths = []
        for n, fake in enumerate(fakes):
            paths.append((await self.add_and_pair(bus, fake, f"Connected {n}",
                                                  f"connected-{n:04d}"))[0])
        await asyncio.gather(*[self.call(bus, "org.atvd", path, "org.atvd.Device1", "Connect")
                               for path in paths])
        pid = self.process.pid
        self.row(f"resident memory, {count} devices connected", rss_kib(pid) / 1024, "MiB", "-")
        await self.steady_updates(bus, fakes, paths, rate)
        await asyncio.gather(*[fake.stop() for fake in fakes])

    async def steady_updates(self, bus, fakes, paths, rate):
        """Each fake is told `rate` new titles a second, spread evenly over the second and over
        the fakes; every one of them is a device update that atvd signals."""
        for n, fake in enumerate(fakes):
            fake.send(f'play title="Load {n}" duration=3600 position=0 rate=1 '
                      'app=com.apple.TVMusic')
        await asyncio.gather(*[fake.expect("SCRIPTED play") for fake in fakes])
        await asyncio.sleep(1)
        for fake in fakes:
            fake.keep_lines = False
        pid = self.process.pid
        loop = asyncio.get_running_loop()
        rss_start, anonymous_start = rss_kib(pid), anonymous_kib(pid)
        split_start, started = cpu_split(pid), loop.time()
        ends = started + self.soak_seconds
        sent = [0] * len(fakes)
        halfway = {}
        # The latency of one device's updates while all of them stream (what pacing costs).
        probe_path, probe_sent, probe_latencies = paths[0], {}, []

        def on_probe_title(message):
            if (message.member == "PropertiesChanged" and message.path == probe_path
                    and message.body[0] == "org.atvd.Player1" and "Title" in message.body[1]):
                sent_at = probe_sent.pop(message.body[1]["Title"].value, None)
                if sent_at is not None:
                    probe_latencies.append((time.perf_counter() - sent_at) * 1000)
        bus.add_message_handler(on_probe_title)
        await self.watch_titles(bus, probe_path)

        async def drive(n, fake):
            due = started + n / (rate * len(fakes))
            while due < ends:
                await asyncio.sleep(max(0.0, due - loop.time()))
                sent[n] += 1
                title = f"Load {n} {sent[n]}"
                sent_at = fake.send(f'set title="{title}"')
                if n == 0:
                    probe_sent[title] = sent_at
                due += 1 / rate

        async def sample_halfway():
            await asyncio.sleep(self.soak_seconds / 2)
            halfway["rss"] = rss_kib(pid)
            if self.count_syscalls:
                halfway["syscalls"] = await count_syscalls(pid, self.soak_seconds / 4)
                halfway["updates"] = self.soak_seconds / 4 * rate * len(fakes)
        await asyncio.gather(sample_halfway(), *[drive(n, fake) for n, fake in enumerate(fakes)])
        spent = loop.time() - started
        split_end = cpu_split(pid)
        user = (split_end[0] - split_start[0]) / spent * 100
        kernel = (split_end[1] - split_start[1]) / spent * 100
        rss_end, anonymous_end = rss_kib(pid), anonymous_kib(pid)
        await asyncio.sleep(1)  # the last updates on their way
        bus.remove_message_handler(on_probe_title)
        await self.watch_titles(bus, probe_path, "RemoveMatch")
        current = 0
        for n, path in enumerate(paths):
            title = (await self.call(bus, "org.atvd", path, "org.freedesktop.DBus.Properties",
                                     "Get", "ss", ["org.atvd.Player1", "Title"]))[0].value
            current += title == f"Load {n} {sent[n]}"
        if current != len(paths):
            print(f"warning: only {current} of {len(paths)} devices show their last title",
                  file=sys.stderr)
        load = f"{len(fakes)} fakes × {rate} title changes/s, {spent / 60:.1f} min"
        self.row(f"updates sent ({load})", sum(sent) / spent, "/s", f"{len(fakes) * rate}")
        self.row(f"CPU of atvd ({load})", user + kernel, "%", "≤ 5")
        self.row("  of which in atvd's own code (user time)", user, "%", "-")
        self.row("  of which in the kernel (sockets, epoll, wake-ups)", kernel, "%", "-")
        if probe_latencies:
            what = "fake told a new title → PropertiesChanged, one device during the load"
            self.row(f"{what} (median of {len(probe_latencies)})",
                     statistics.median(probe_latencies), "ms", "-")
            self.row(f"{what} (p95)", p95(probe_latencies), "ms", "-")
        for name, count in halfway.get("syscalls", {}).items():
            self.row(f"  system calls per update: {name}", count / halfway["updates"], "", "-")
        self.row(f"resident memory, start of the load ({load})", rss_start / 1024, "MiB", "-")
        self.row(f"resident memory, end of the load ({load})", rss_end / 1024, "MiB", "no growth")
        self.row(f"resident memory growth over the second half ({load})",
                 (rss_end - halfway["rss"]) / 1024, "MiB", "0")
        self.row(f"anonymous memory, start → end growth ({load})",
                 (anonymous_end - anonymous_start) / 1024, "MiB", "0")

    async def connection_states(self, bus, paths):
        """A dict path → list of (time, ConnectionState) that atvd's signals fill from now on."""
        seen = {path: [] for path in paths}

        def on_message(message):
            if (message.member == "PropertiesChanged" and message.path in seen
                    and message.body[0] == "org.atvd.Device1"
                    and "ConnectionState" in message.body[1]):
                seen[message.path].append((time.perf_counter(),
                                           message.body[1]["ConnectionState"].value))
        bus.add_message_handler(on_message)
        await self.call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "AddMatch", "s",
                        ["type='signal',sender='org.atvd',member='PropertiesChanged',"
                         "arg0='org.atvd.Device1'"])
        return seen

    @staticmethod
    async def until(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            await asyncio.sleep(0.002)

    async def reannounce_to_connected(self, bus, rounds=10):
        """The fake, paired and kept connected, goes away and comes back on another port; from
        the moment atvd shows the port discovery told it (Service1.Port), until atvd says
        connected: atvd's own part, without Avahi's probing and announcing."""
        # The fake keeps its pairings in a file, as a device keeps them across restarts.
        remembered = ["--state", os.path.join(tempfile.mkdtemp(prefix="bench-fake-"), "state")]
        fake = await Fake.start("Bench Return", "bench-ret-0001", "AA:BB:CC:00:0B:61",
                                publish=True, extra=remembered)
        found = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "Scan",
                                 "a{sv}", [{"Identifiers": Variant("as", ["bench-ret-0001"]),
                                            "Timeout": Variant("u", 20000)}]))[0]
        path = found[0]
        await self.pair_service(bus, fake, path, "mrp")
        states = await self.connection_states(bus, [path])
        await self.call(bus, "org.atvd", path, "org.atvd.Device1", "SetAutoConnect", "b", [True])
        await self.until(lambda: states[path] and states[path][-1][1] == "connected", 10,
                         "the first connection")
        moved = []

        def on_port(message):
            # Discovery's news reaching atvd: the MRP service's new port on its object.
            if (message.member == "PropertiesChanged" and message.path == path + "/mrp"
                    and message.body[0] == "org.atvd.Service1" and "Port" in message.body[1]):
                moved.append(time.perf_counter())
        bus.add_message_handler(on_port)
        await self.call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "AddMatch", "s",
                        ["type='signal',sender='org.atvd',member='PropertiesChanged',"
                         "arg0='org.atvd.Service1'"])
        latencies = []
        for _ in range(rounds):
            await fake.stop()
            await self.until(lambda: states[path][-1][1] == "reconnecting", 10, "the loss")
            moved.clear()
            mark = len(states[path])
            fake = await Fake.start("Bench Return", "bench-ret-0001", "AA:BB:CC:00:0B:61",
                                    publish=True, extra=remembered)
            await self.until(lambda: any(s == "connected" for _, s in states[path][mark:]), 15,
                             "the reconnection")
            connected = next(t for t, s in states[path][mark:] if s == "connected")
            await self.until(lambda: moved, 5, "the new port")
            latencies.append((connected - moved[-1]) * 1000)
        bus.remove_message_handler(on_port)
        self.row(f"announced again (new port on Service1) → connected, AutoConnect (median of "
                 f"{rounds})", statistics.median(latencies), "ms", "≤ 50")
        self.row("announced again → connected (max)", max(latencies), "ms", "-")
        await self.call(bus, "org.atvd", path, "org.atvd.Device1", "SetAutoConnect", "b", [False])
        await fake.stop()

    async def silent_peer(self, bus):
        """A connected device behind a veth pair whose far end goes down: no FIN, no RST. From
        the cut until atvd's ConnectionState leaves connected."""
        netns = "atvd-bench-cut"

        def ip(*args):
            subprocess.run(["ip", *args], check=True, capture_output=True)
        inside = ["netns", "exec", netns, "ip"]
        ip("netns", "add", netns)
        try:
            ip("link", "add", "vbench0", "type", "veth", "peer", "name", "vbench1")
            ip("link", "set", "vbench1", "netns", netns)
            ip("addr", "add", "10.78.0.1/24", "dev", "vbench0")
            ip("link", "set", "vbench0", "up")
            ip(*inside, "addr", "add", "10.78.0.2/24", "dev", "vbench1")
            ip(*inside, "link", "set", "vbench1", "up")
            ip(*inside, "link", "set", "lo", "up")
            process = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", netns, os.environ["FAKE_ATV_BINARY"], "--name",
                "Bench Cut", "--id", "bench-cut-0001", "--mac", "AA:BB:CC:00:0B:71",
                "--no-publish", "--bind", "10.78.0.2", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL)
            fake = Fake(process)
            fake.port = int((await fake.expect("READY "))[1].split()[1])
            path = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1",
                                    "AddDevice", "ssa(sqsa{ss}s)", ["10.78.0.2", "Bench Cut", [
                                        ["mrp", fake.port, "bench-cut-0001",
                                         {"AllowPairing": "YES"}, ""]]]))[0]
            await self.pair_service(bus, fake, path, "mrp")
            states = await self.connection_states(bus, [path])
            await self.call(bus, "org.atvd", path, "org.atvd.Device1", "SetAutoConnect", "b",
                            [True])
            await self.until(lambda: states[path] and states[path][-1][1] == "connected", 10,
                             "the connection")
            mark = len(states[path])
            cut = time.perf_counter()
            ip(*inside, "link", "set", "vbench1", "down")
            await self.until(lambda: len(states[path]) > mark, 60, "the loss noticed")
            self.row("silent peer (link cut) → ConnectionState leaves connected",
                     states[path][mark][0] - cut, "s", "≤ 30")
            await fake.stop()
        finally:
            subprocess.run(["ip", "link", "del", "vbench0"], capture_output=True)
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)

    async def idle_auto_connected(self, bus, count):
        """`count` devices with AutoConnect: connected, all lost at once, connected again by
        atvd alone; then idle, where atvd should neither run nor wake."""
        folder = tempfile.mkdtemp(prefix="bench-fakes-")
        fakes = await asyncio.gather(*[
            Fake.start(f"Kept {n}", f"kept-{n:04d}", f"AA:BB:CC:00:0D:{n:02X}",
                       extra=["--state", f"{folder}/{n}"])
            for n in range(count)])
        paths = []
        for n, fake in enumerate(fakes):
            paths.append((await self.add_and_pair(bus, fake, f"Kept {n}", f"kept-{n:04d}"))[0])
        states = await self.connection_states(bus, paths)

        def all_in(state):
            return all(states[p] and states[p][-1][1] == state for p in paths)
        await asyncio.gather(*[self.call(bus, "org.atvd", path, "org.atvd.Device1",
                                         "SetAutoConnect", "b", [True]) for path in paths])
        await self.until(lambda: all_in("connected"), 60, "every device connected")
        ports = [fake.port for fake in fakes]
        await asyncio.gather(*[fake.stop() for fake in fakes])
        await self.until(lambda: all_in("reconnecting"), 30, "every loss")
        started = time.perf_counter()
        fakes = []
        for n, port in enumerate(ports):
            process = await asyncio.create_subprocess_exec(
                os.environ["FAKE_ATV_BINARY"], "--name", f"Kept {n}", "--id", f"kept-{n:04d}",
                "--mac", f"AA:BB:CC:00:0D:{n:02X}", "--no-publish", "--mrp-port", str(port),
                "--state", f"{folder}/{n}",
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            fakes.append(Fake(process))
        await self.until(lambda: all_in("connected"), 60, "every device connected again")
        self.row(f"{count} AutoConnect devices back (back-off ≤ 2 s) → all connected",
                 time.perf_counter() - started, "s", "-")
        for fake in fakes:
            fake.keep_lines = False
        await asyncio.sleep(2)
        pid = self.process.pid
        switches, cpu = context_switches(pid), cpu_seconds(pid)
        # Two periods of MRP's 30-second heartbeat, which every connection sends on one grid.
        await asyncio.sleep(60)
        self.row(f"wake-ups per second, {count} AutoConnect devices connected and idle (60 s)",
                 (context_switches(pid) - switches) / 60, "/s", "0")
        self.row(f"CPU, {count} AutoConnect devices connected and idle (60 s)",
                 (cpu_seconds(pid) - cpu) / 60 * 100, "%", "0")
        await asyncio.gather(*[fake.stop() for fake in fakes])

    # Google Benchmark names → (row, what to read, unit, goal).
    MICRO_ROWS = {
        "BM_ConnectWithStoredCredentials": ("Connect with stored credentials, MRP (libatv, fake)", "ms", "ms", "≤ 20"),
        "BM_ConnectThroughTunnel": ("Connect through the AirPlay tunnel (libatv, fake)", "ms", "ms", "≤ 30"),
        "BM_ConnectMrpAndCompanion": ("Connect MRP + Companion (libatv, fake)", "ms", "ms", "≤ 30"),
        "BM_PairBeginToFinish": ("pairing, both ends' work in one process (MRP)", "ms", "ms", "-"),
        "BM_EncryptedMessagesOverTcp": ("messages through an encrypted MRP session", "rate", "k/s", "≥ 100"),
        "BM_SessionMessageSealOpen": ("MRP message seal + open, one core", "rate", "k/s", "-"),
        "BM_MergeThousandDevices": ("merging 1,000 devices' services", "ms", "ms", "-"),
        "BM_UpdateOneServiceAmongThousandDevices": ("one TXT update among 1,000 devices", "ms", "ms", "-"),
    }

    def add_micro(self, path):
        """Rows from one Google Benchmark JSON report (--benchmark_format=json)."""
        with open(path) as report:
            results = json.load(report)["benchmarks"]
        to_ms = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
        for result in results:
            known = self.MICRO_ROWS.get(result["name"].split("/")[0])  # less "/real_time"
            if not known or result.get("run_type") == "aggregate":
                continue
            what, reading, unit, goal = known
            if reading == "rate":
                value = result["items_per_second"] / 1000
            else:
                value = result["real_time"] * to_ms[result["time_unit"]]
            self.row(what, value, unit, goal)

    def print(self):
        width = max(len(r[0]) for r in self.rows)
        print(f"atvd: {build_description(self.atvd_binary)}")
        print(f"{'measure'.ljust(width)}  {'value':>10}  unit  goal")
        for what, value, unit, goal in self.rows:
            print(f"{what.ljust(width)}  {value:10.2f}  {unit:4}  {goal}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--atvd", required=True)
    parser.add_argument("--micro", nargs="*", default=[],
                        help="Google Benchmark JSON reports whose figures join the table")
    parser.add_argument("--soak-minutes", type=float, default=1.0,
                        help="how long 50 connected fakes push updates (10 for the full soak)")
    parser.add_argument("--control-only", action="store_true",
                        help="only the figures of connected devices (pairing onwards)")
    parser.add_argument("--system-control", action="store_true",
                        help="only TurnOn, Launch and ListApps (1,000 apps) over Companion")
    parser.add_argument("--auto-connect", action="store_true",
                        help="only the AutoConnect figures: reconnection, silent peer, idle")
    parser.add_argument("--count-syscalls", action="store_true",
                        help="count atvd's system calls per update with perf over a quarter "
                             "of the soak (perf's tracing adds to the CPU figure)")
    args = parser.parse_args()
    bench = Bench(args.atvd, args.soak_minutes, args.control_only, args.system_control,
                  args.auto_connect, args.count_syscalls)
    asyncio.run(bench.run())
    for report in args.micro:
        bench.add_micro(report)
    bench.print()


if __name__ == "__main__":
    sys.exit(main())
