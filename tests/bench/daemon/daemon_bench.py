"""Figures for atvd as a whole, measured through D-Bus like a user would see them.

Run inside tests/env/isolated (tools/bench does). Prints one table; never pass/fail.

- start-up: from exec to owning org.atvd on the bus
- discovery: Avahi's resolve of a new service (seen by a resolver of our own on the same
  avahi-daemon) to atvd's InterfacesAdded for it
- Scan() round trip with 1 and with 1,000 known devices
- unicast Scan(Hosts) of one responsive host (a real avahi-daemon in a namespace)
- resident memory idle, with 1,000 devices and with 50 connected; wake-ups per second and CPU
  while idle
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


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    total = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if "ctxt_switches" in line:
                total += int(line.split()[1])
    return total


class Bench:
    def __init__(self, atvd):
        self.atvd_binary = atvd
        self.rows = []

    async def call(self, bus, dest, path, iface, member, sig="", body=None):
        reply = await bus.call(Message(destination=dest, path=path, interface=iface,
                                       member=member, signature=sig, body=body or []))
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"{reply.error_name}: {reply.body}")
        return reply.body

    def row(self, what, value, unit, goal):
        self.rows.append((what, value, unit, goal))

    async def start_atvd(self, bus):
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
        started = time.perf_counter()
        # Its warnings (devices the benchmark stops) would only clutter the table.
        self.process = subprocess.Popen([self.atvd_binary, "--system", "--state-dir", state,
                                         "--log-level", "error"], stderr=subprocess.DEVNULL)
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

        await self.pair_and_connect(bus)
        await self.many_connected(bus, 50)
        self.process.terminate()
        self.process.wait()

    async def pair_and_connect(self, bus):
        """The daemon's share of a pairing (Begin, Pin and Finish, not the person typing the
        PIN) and Connect round trips with stored credentials, against the fake Apple TV."""
        fake_binary = os.environ.get("FAKE_ATV_BINARY")
        if not fake_binary:
            return
        fake = subprocess.Popen([fake_binary, "--name", "Bench Room", "--id", "bench-0001",
                                 "--mac", "AA:BB:CC:00:0B:01", "--no-publish"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(fake.stdout.readline().split()[1])
        path = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1", "AddDevice",
                                "ssa(sqsa{ss}s)", ["127.0.0.1", "Bench Room", [
                                    ["mrp", port, "bench-0001", {"AllowPairing": "YES"}, ""]]]))[0]
        handler = (await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Pair", "sa{sv}",
                                   ["mrp", {}]))[0]
        hp = "org.atvd.PairingHandler1"
        started = time.perf_counter()
        await self.call(bus, "org.atvd", handler, hp, "Begin")
        spent = time.perf_counter() - started
        pin = fake.stdout.readline().split()[1]
        started = time.perf_counter()
        await self.call(bus, "org.atvd", handler, hp, "Pin", "s", [pin])
        await self.call(bus, "org.atvd", handler, hp, "Finish")
        spent += time.perf_counter() - started
        self.row("pairing Begin + Pin + Finish (MRP, fake)", spent * 1000, "ms", "≤ 30")
        await self.call(bus, "org.atvd", handler, hp, "Close")
        times = []
        for _ in range(20):
            started = time.perf_counter()
            await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Connect")
            times.append((time.perf_counter() - started) * 1000)
            await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Close")
        self.row("Connect with stored credentials (MRP, fake, median)", statistics.median(times), "ms", "≤ 20")
        fake.terminate()
        fake.wait()

    async def many_connected(self, bus, count):
        """Resident memory with `count` devices paired and connected at once."""
        fake_binary = os.environ.get("FAKE_ATV_BINARY")
        if not fake_binary:
            return
        fakes, paths = [], []
        for n in range(count):
            fake = subprocess.Popen([fake_binary, "--name", f"Connected {n}", "--id",
                                     f"connected-{n:04d}", "--mac", f"AA:BB:CC:00:0C:{n:02X}",
                                     "--no-publish"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            fakes.append(fake)
        hp = "org.atvd.PairingHandler1"
        for n, fake in enumerate(fakes):
            port = int(fake.stdout.readline().split()[1])
            path = (await self.call(bus, "org.atvd", "/org/atvd", "org.atvd.Manager1",
                                    "AddDevice", "ssa(sqsa{ss}s)", ["127.0.0.1", f"Connected {n}", [
                                        ["mrp", port, f"connected-{n:04d}",
                                         {"AllowPairing": "YES"}, ""]]]))[0]
            handler = (await self.call(bus, "org.atvd", path, "org.atvd.Device1", "Pair",
                                       "sa{sv}", ["mrp", {}]))[0]
            await self.call(bus, "org.atvd", handler, hp, "Begin")
            await self.call(bus, "org.atvd", handler, hp, "Pin", "s",
                            [fake.stdout.readline().split()[1]])
            await self.call(bus, "org.atvd", handler, hp, "Finish")
            await self.call(bus, "org.atvd", handler, hp, "Close")
            paths.append(path)
        await asyncio.gather(*[self.call(bus, "org.atvd", path, "org.atvd.Device1", "Connect")
                               for path in paths])
        self.row(f"resident memory, {count} devices connected", rss_kib(self.process.pid) / 1024,
                 "MiB", "-")
        for fake in fakes:
            fake.terminate()
            fake.wait()

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
        print(f"{'measure'.ljust(width)}  {'value':>10}  unit  goal")
        for what, value, unit, goal in self.rows:
            print(f"{what.ljust(width)}  {value:10.2f}  {unit:4}  {goal}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--atvd", required=True)
    parser.add_argument("--micro", nargs="*", default=[],
                        help="Google Benchmark JSON reports whose figures join the table")
    args = parser.parse_args()
    bench = Bench(args.atvd)
    asyncio.run(bench.run())
    for report in args.micro:
        bench.add_micro(report)
    bench.print()


if __name__ == "__main__":
    sys.exit(main())
