"""Load: 100 concurrent D-Bus clients making 1,000 calls each, and 50 concurrent Connects.

No call may fail, and the daemon's resident memory may not grow once it has warmed up. The
latencies are printed (run with `-s`, or see the test log) as figures for the record.
"""

import asyncio
import os
import random
import time

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus

from atvd_harness import BUS_NAME, DEVICE, HANDLER, MANAGER, start_fakes

CLIENTS = 100
CALLS = 1000
DEVICES = 50
# What the allocator may keep after a run; a leak of even a few bytes per call is far more.
RSS_SLACK_KIB = 1024
# In a sanitizer build, freed memory waits in AddressSanitizer's quarantine (up to 256 MiB)
# before reuse, so resident memory grows with every call until the quarantine is full, leak or
# not. Without it, resident memory follows live memory again; LeakSanitizer still checks at exit.
DAEMON_ENV = {"ASAN_OPTIONS": ":".join(
    option for option in (os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0") if option)}


def resident_kib(daemon):
    with open(f"/proc/{daemon.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_seconds(daemon):
    """User and system time the daemon has used so far."""
    with open(f"/proc/{daemon.process.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures(name, latencies):
    ms = [value * 1000 for value in latencies]
    return (f"{name}: {len(ms)} calls, p50 {percentile(ms, 0.5):.2f} ms, "
            f"p99 {percentile(ms, 0.99):.2f} ms, max {max(ms):.2f} ms")


def the_calls(rng, paths):
    """A client's mix: mostly property reads and Scans, now and then every object."""
    kind = rng.random()
    if kind < 0.02:
        return Message(destination=BUS_NAME, path=MANAGER,
                       interface="org.freedesktop.DBus.ObjectManager",
                       member="GetManagedObjects")
    if kind < 0.35:
        return Message(destination=BUS_NAME, path=MANAGER, interface="org.atvd.Manager1",
                       member="Scan", signature="a{sv}", body=[{"Timeout": Variant("u", 1)}])
    path = rng.choice(paths)
    if kind < 0.7:
        return Message(destination=BUS_NAME, path=path,
                       interface="org.freedesktop.DBus.Properties", member="Get",
                       signature="ss", body=[DEVICE, rng.choice(["Name", "Present", "Model"])])
    return Message(destination=BUS_NAME, path=path,
                   interface="org.freedesktop.DBus.Properties", member="GetAll",
                   signature="s", body=[DEVICE])


async def one_client(seed, calls, paths, latencies, failures):
    rng = random.Random(seed)
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        for _ in range(calls):
            message = the_calls(rng, paths)
            started = time.perf_counter()
            reply = await bus.call(message)
            latencies.append(time.perf_counter() - started)
            if reply.message_type == MessageType.ERROR:
                failures.append(f"{message.member}: {reply.error_name} {reply.body}")
    finally:
        bus.disconnect()


def run_clients(loop, calls, paths):
    latencies, failures = [], []
    tasks = [one_client(seed, calls, paths, latencies, failures) for seed in range(CLIENTS)]
    started = time.monotonic()
    loop.run_until_complete(asyncio.gather(*tasks))
    return latencies, failures, time.monotonic() - started


def pair_all(client, fakes, paths):
    for fake, path in zip(fakes, paths):
        handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
        client.atvd(handler, HANDLER, "Begin")
        client.atvd(handler, HANDLER, "Pin", "s", [fake.pin()])
        client.atvd(handler, HANDLER, "Finish")
        client.atvd(handler, HANDLER, "Close")


async def timed_call(bus, path, member):
    started = time.perf_counter()
    reply = await bus.call(Message(destination=BUS_NAME, path=path, interface=DEVICE,
                                   member=member))
    failure = None
    if reply.message_type == MessageType.ERROR:
        failure = f"{member} {path}: {reply.error_name} {reply.body}"
    return time.perf_counter() - started, failure


def connect_all(client, paths):
    async def everything(member):
        return await asyncio.gather(*[timed_call(client.bus, path, member) for path in paths])
    connects = client.loop.run_until_complete(everything("Connect"))
    closes = client.loop.run_until_complete(everything("Close"))
    return connects, closes


def test_many_clients_and_many_connections(daemon, client):
    fakes = start_fakes([(f"Load Room {n}", f"fake-atv-06{n:02}", f"AA:BB:CC:00:06:{n:02}")
                         for n in range(DEVICES)])
    try:
        paths = []
        for n in range(DEVICES):
            found = client.scan(Identifiers=[f"fake-atv-06{n:02}"], timeout=20000)
            assert found, f"fake-atv-06{n:02} not discovered"
            paths.append(found[0])
        client.wait_for(lambda: all(path + "/mrp" in client.managed_objects() for path in paths),
                        timeout=20, what="every MRP service")
        pair_all(client, fakes, paths)

        # 50 concurrent Connects, then Close, twice: the second round is the one measured.
        for _ in range(2):
            connects, closes = connect_all(client, paths)
            failures = [failure for _, failure in connects + closes if failure]
            assert not failures, "\n".join(failures[:10])
        print(figures("Connect (50 at once)", [latency for latency, _ in connects]))
        print(figures("Close (50 at once)", [latency for latency, _ in closes]))

        # Warm up with every kind of call, then the full run.
        latencies, failures, _ = run_clients(client.loop, CALLS // 10, paths)
        assert not failures, "\n".join(failures[:10])
        before = resident_kib(daemon)
        cpu_before = cpu_seconds(daemon)
        latencies, failures, elapsed = run_clients(client.loop, CALLS, paths)
        cpu = cpu_seconds(daemon) - cpu_before
        after = resident_kib(daemon)
        assert not failures, "\n".join(failures[:10])
        assert len(latencies) == CLIENTS * CALLS
        print(figures(f"{CLIENTS} clients x {CALLS} calls", latencies))
        print(f"{len(latencies) / elapsed:.0f} calls/s; daemon CPU "
              f"{cpu * 1e6 / len(latencies):.0f} us per call; resident memory {before} KiB "
              f"before, {after} KiB after")
        assert after - before <= RSS_SLACK_KIB, f"resident memory grew from {before} to {after} KiB"
        # Still answering everyone.
        assert client.get(MANAGER, "org.atvd.Manager1", "Discovering") is True
    finally:
        for fake in fakes:
            fake.stop()
