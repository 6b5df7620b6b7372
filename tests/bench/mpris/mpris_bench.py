"""Figures for atvd-mpris, measured from the outside as a desktop would see them.

Run inside tests/env/isolated, as root, e.g.:

  ATVD_BINARY=build-dev/daemon/atvd FAKE_ATV_BINARY=build-dev/tests/fakes/fake-atv \\
    tests/env/isolated /usr/bin/python3 tests/bench/mpris/mpris_bench.py \\
    --mpris build-gcc/mpris/atvd-mpris

Prints one table; never pass/fail. Use a build without sanitizers for --mpris (its memory is
measured); atvd and the fake can come from any build.

- update latency: atvd's Player1 PropertiesChanged (a title change on the fake) as a client on
  the system bus receives it, until a client on the session bus has the MPRIS
  PropertiesChanged with the new Metadata: what atvd-mpris adds to every change
- end to end: from telling the fake until the MPRIS PropertiesChanged arrives
- resident memory of atvd-mpris with no player and with 5 players (5 connected fakes)
"""

import argparse
import asyncio
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

from dbus_next import BusType, Message, MessageType  # noqa: E402
from dbus_next.aio import MessageBus  # noqa: E402

from atvd_harness import DEVICE, Client, Daemon, FakeAppleTV, pair_with_pin  # noqa: E402
import test_mpris  # noqa: E402


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def private_kib(pid):
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def connect_fake(client, number):
    device = FakeAppleTV(f"Bench Room {number}", f"fake-atv-bench-{number:04d}",
                         f"AA:BB:CC:00:50:{number:02X}")
    path = client.find(device.identifier, "mrp")
    pair_with_pin(client, device, path, "mrp")
    client.atvd(path, DEVICE, "Connect")
    return device, path


async def add_match(bus, rule):
    await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                           interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                           body=[rule]))


async def measure_latency(session_address, device, path, count):
    system = await MessageBus(bus_type=BusType.SYSTEM).connect()
    session = await MessageBus(bus_address=session_address).connect()
    atvd_seen = {}
    mpris_seen = {}

    def on_system(message):
        if (message.message_type == MessageType.SIGNAL and message.member == "PropertiesChanged"
                and message.path == path and message.body[0] == "org.atvd.Player1"
                and "Title" in message.body[1]):
            atvd_seen.setdefault(message.body[1]["Title"].value, time.perf_counter())

    def on_session(message):
        if (message.message_type == MessageType.SIGNAL and message.member == "PropertiesChanged"
                and message.body[0] == "org.mpris.MediaPlayer2.Player"
                and "Metadata" in message.body[1]):
            title = message.body[1]["Metadata"].value.get("xesam:title")
            if title is not None:
                mpris_seen.setdefault(title.value, time.perf_counter())

    system.add_message_handler(on_system)
    session.add_message_handler(on_session)
    await add_match(system, f"type='signal',path='{path}'")
    await add_match(session, "type='signal',path='/org/mpris/MediaPlayer2'")

    sent = {}
    for i in range(count):
        title = f"Bench {i}"
        sent[title] = time.perf_counter()
        device.send(f'set title="{title}"')
        deadline = time.monotonic() + 5
        while title not in mpris_seen and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
    system.disconnect()
    session.disconnect()
    added = [(mpris_seen[t] - atvd_seen[t]) * 1000 for t in sent
             if t in mpris_seen and t in atvd_seen]
    whole = [(mpris_seen[t] - sent[t]) * 1000 for t in sent if t in mpris_seen]
    return added, whole


def quantiles(values):
    values = sorted(values)
    if not values:
        return "no samples"
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return (f"median {statistics.median(values):.3f} ms, p95 {p95:.3f} ms, "
            f"max {values[-1]:.3f} ms (n={len(values)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mpris", required=True, help="the atvd-mpris binary to measure")
    parser.add_argument("--updates", type=int, default=200)
    args = parser.parse_args()
    os.environ["ATVD_MPRIS_BINARY"] = os.path.abspath(args.mpris)

    daemon = Daemon(log_level="info").start()
    client = Client()
    session = test_mpris.SessionBus()
    bridge = test_mpris.Mpris(session)
    fakes = []
    try:
        test_mpris.wait_until(lambda: "atvd is running" in bridge.output(), what="atvd-mpris")
        pid = bridge.process.pid
        idle = (status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"), private_kib(pid))

        device, path = connect_fake(client, 1)
        fakes.append(device)
        device.send('play title="Start" artist="Band" duration=300 position=0 rate=1 '
                    'app=com.apple.TVMusic')
        test_mpris.wait_until(lambda: "atvd." + path.rsplit("/", 1)[1]
                              in test_mpris.players(session), what="the first player")
        loop = asyncio.new_event_loop()
        added, whole = loop.run_until_complete(
            measure_latency(session.address, device, path, args.updates))

        for number in range(2, 6):
            fakes.append(connect_fake(client, number)[0])
        test_mpris.wait_until(lambda: len(test_mpris.players(session)) == 5, timeout=30,
                              what="5 players")
        time.sleep(1)
        five = (status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"), private_kib(pid))

        print(f"atvd-mpris: {args.mpris}")
        print(f"{'figure':<58} value")
        print(f"{'atvd PropertiesChanged -> MPRIS PropertiesChanged':<58} {quantiles(added)}")
        print(f"{'fake told -> MPRIS PropertiesChanged (end to end)':<58} {quantiles(whole)}")
        for label, (rss, anon, private) in (("no player", idle), ("5 players", five)):
            print(f"{'resident memory, ' + label:<58} RSS {rss / 1024:.2f} MiB, "
                  f"anonymous {anon / 1024:.2f} MiB, private (USS) {private / 1024:.2f} MiB")
    finally:
        bridge.stop()
        session.stop()
        for device in fakes:
            device.stop()
        client.close()
        daemon.stop()


if __name__ == "__main__":
    main()
