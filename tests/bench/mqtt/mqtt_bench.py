"""Figures for atvd-mqtt, with a real mosquitto, a real atvd and the fake Apple TV.

Run inside tests/env/isolated, for example:

    tests/env/isolated /usr/bin/python3 tests/bench/mqtt/mqtt_bench.py \
        --atvd build/daemon/atvd --fake build/tests/fakes/fake-atv --mqtt build/mqtt/atvd-mqtt

Prints one table; never pass/fail.

- update: a script line to the fake (a new title) until a subscriber (mosquitto_sub) has the
  state message carrying it: the fake, atvd, D-Bus, the bridge and the broker together
- command: a command published (a long-running mosquitto_pub -l) until the fake has the key
- memory: the bridge's resident memory with 20 devices known to atvd (one connected and
  playing, 19 added by hand) and its own share (anonymous memory)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../integration"))

from atvd_harness import DEVICE, Client, Daemon, FakeAppleTV, pair_with_pin  # noqa: E402
from test_mqtt import NODE, Broker, Subscriber, make_certificates  # noqa: E402


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def p95(values):
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def row(what, values, unit, goal):
    if isinstance(values, list):
        text = f"median {statistics.median(values):.2f}, p95 {p95(values):.2f}, max {max(values):.2f}"
    else:
        text = f"{values:.2f}"
    print(f"{what:<44} {text:>44} {unit:<4} (goal {goal})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--atvd", required=True)
    parser.add_argument("--fake", required=True)
    parser.add_argument("--mqtt", required=True)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    os.environ["ATVD_BINARY"] = args.atvd
    os.environ["FAKE_ATV_BINARY"] = args.fake

    broker = Broker(make_certificates()).start()
    daemon = Daemon(log_level="info").start()
    client = Client()
    fake = FakeAppleTV("Bench Room", "fake-atv-mqtt-bench", "AA:BB:CC:00:50:01")
    bridge = None
    try:
        path = client.find(fake.identifier, "mrp")
        pair_with_pin(client, fake, path, "mrp")
        client.atvd(path, DEVICE, "Connect")
        topic = f"atvd/{NODE}/{path.rsplit('/', 1)[1]}"
        fake.send('play title="start" duration=300')
        fake.expect("SCRIPTED")

        log = open(os.path.join(tempfile.mkdtemp(), "atvd-mqtt.log"), "wb")
        bridge = subprocess.Popen([args.mqtt, "--broker", broker.url(), "--node-id", NODE,
                                   "--config", "/dev/null"], stdout=log, stderr=log)
        subscriber = Subscriber(broker, f"{topic}/state", f"{topic}/result")
        subscriber.wait_json(f"{topic}/state", lambda s: s["now_playing"]["title"] == "start")

        # A change at the device until the subscriber has it.
        updates = []
        for i in range(args.samples):
            title = f"t{i}"
            start = time.monotonic()
            fake.send(f"set title={title}")
            subscriber.wait_json(f"{topic}/state",
                                 lambda s, t=title: s["now_playing"]["title"] == t)
            with subscriber.lock:
                arrived = next(when for (_, t, payload), when in
                               zip(reversed(subscriber.messages), reversed(subscriber.times))
                               if t == f"{topic}/state" and
                               json.loads(payload)["now_playing"]["title"] == title)
            updates.append((arrived - start) * 1000)
        row("update at the fake -> state at a subscriber", updates, "ms", "<= 5")

        # A command until the fake has the key.
        publisher = subprocess.Popen(["mosquitto_pub", "-h", broker.bind, "-p", str(broker.port),
                                      "-q", "1", "-t", f"{topic}/set/select", "-l"],
                                     stdin=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let it connect before the first sample
        commands = []
        for i in range(args.samples):
            start = time.monotonic()
            publisher.stdin.write(json.dumps({"id": i}) + "\n")
            publisher.stdin.flush()
            fake.expect("HID 1 0x89 down")
            commands.append((time.monotonic() - start) * 1000)
            subscriber.wait_json(f"{topic}/result", lambda r, n=i: r.get("id") == n)
        publisher.stdin.close()
        publisher.wait()
        row("command published -> key at the fake", commands, "ms", "<= 10")

        # Memory with 20 devices.
        for n in range(19):
            client.atvd("/org/atvd", "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)",
                        ["127.0.0.1", f"Manual {n}",
                         [["mrp", 49152 + n, f"manual-bench-{n:02d}", {}, ""]]])
        wide = Subscriber(broker, f"atvd/{NODE}/+/state")
        wide.wait_for(lambda: len({t for _, t, _ in wide.messages}) >= 20, timeout=20,
                      what="20 devices on the broker")
        time.sleep(1)
        row("resident memory, 20 devices (VmRSS)", status_kib(bridge.pid, "VmRSS") / 1024, "MiB",
            "<= 8")
        row("  of which its own (RssAnon)", status_kib(bridge.pid, "RssAnon") / 1024, "MiB", "-")
        wide.stop()
        subscriber.stop()
    finally:
        if bridge:
            bridge.terminate()
            bridge.wait()
        fake.stop()
        client.close()
        daemon.stop()
        broker.stop()


if __name__ == "__main__":
    main()
