"""The system bus going away and coming back, and atvd restarted as systemd restarts it.

atvd exits with a failure status when it loses the bus, which is what `Restart=on-failure` in
its unit acts on. Started again, it has its devices and credentials back without anyone pairing
or configuring anything.
"""

import os
import signal
import subprocess
import tempfile
import time

from atvd_harness import (DEVICE, SERVICE, Client, Daemon, FakeAppleTV, name_has_owner,
                          pair_with_pin)

IDENTIFIER = "fake-atv-0700"


def env_file(name):
    return os.path.join(os.environ["ATVD_ENV_DIR"], name)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def read_pid(path):
    with open(path) as f:
        return int(f.read().split()[0])


def stop_bus():
    pid = read_pid(env_file("dbus.pid"))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(pid), "dbus-daemon did not stop"


def start_bus_and_avahi():
    if os.path.exists("/run/dbus/pid"):
        os.remove("/run/dbus/pid")
    with open(env_file("dbus.pid"), "w") as pidfile:
        subprocess.run(["dbus-daemon", f"--config-file={env_file('bus.conf')}", "--fork",
                        "--nosyslog", "--print-pid"], stdout=pidfile, check=True)
    # Avahi leaves when the bus goes; start it again if it did.
    avahi_pidfile = os.environ["ATVD_AVAHI_PIDFILE"]
    if not (os.path.exists(avahi_pidfile) and pid_alive(read_pid(avahi_pidfile))):
        if os.path.exists(avahi_pidfile):
            os.remove(avahi_pidfile)
        subprocess.run(["sh", "-c", os.environ["ATVD_AVAHI_START"]], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = subprocess.run(["avahi-browse", "-t", "-p", "_nothing._tcp"],
                                capture_output=True, text=True)
        if result.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("avahi-daemon did not come back")


def test_bus_loss_ends_atvd_with_failure_and_a_restart_brings_everything_back():
    state = tempfile.mkdtemp(prefix="fake-state-")
    fake = FakeAppleTV("Restart Room", IDENTIFIER, "AA:BB:CC:00:07:00", "--state",
                       os.path.join(state, "fake"))
    daemon = Daemon(log_level="info").start()
    client = Client()
    try:
        path = client.find(IDENTIFIER, "mrp", timeout=15)
        pair_with_pin(client, fake, path)
        client.close()
        port = fake.port
        fake.stop()

        stop_bus()
        daemon.process.wait(10)
        assert daemon.process.returncode != 0, "atvd must fail so that systemd restarts it"
        assert "D-Bus connection failed" in daemon.output()
        daemon.stop()

        start_bus_and_avahi()
        fake = FakeAppleTV("Restart Room", IDENTIFIER, "AA:BB:CC:00:07:00", "--state",
                           os.path.join(state, "fake"), "--mrp-port", str(port))
        # What systemd does after RestartSec: the same command line, nothing more.
        daemon.start()
        client = Client()
        path = client.find(IDENTIFIER, "mrp", timeout=15)
        assert client.get(path + "/mrp", SERVICE, "Paired") is True
        client.atvd(path, DEVICE, "Connect")
        assert client.get(path, DEVICE, "Connected") is True
        client.atvd(path, DEVICE, "Close")
    finally:
        client.close()
        fake.stop()
        assert daemon.stop() in (0, None), daemon.output()


def test_crashed_atvd_comes_back_with_its_devices():
    # A device of its own: the last test's, just gone, may linger in Avahi's cache for a second.
    identifier = "fake-atv-0701"
    state = tempfile.mkdtemp(prefix="fake-state-")
    fake = FakeAppleTV("Crash Room", identifier, "AA:BB:CC:00:07:01", "--state",
                       os.path.join(state, "fake"))
    daemon = Daemon(log_level="info").start()
    client = Client()
    try:
        path = client.find(identifier, "mrp", timeout=15)
        pair_with_pin(client, fake, path)
        client.atvd(path, DEVICE, "Connect")

        # A crash in the middle of a connection: the kernel closes everything.
        daemon.process.send_signal(signal.SIGSEGV)
        daemon.process.wait(10)
        assert daemon.process.returncode != 0
        daemon.stop()
        assert not name_has_owner("org.atvd")

        daemon.start()
        path = client.find(identifier, "mrp", timeout=15)
        assert client.get(path + "/mrp", SERVICE, "Paired") is True
        assert client.get(path, DEVICE, "Connected") is False
        client.atvd(path, DEVICE, "Connect")
        assert client.get(path, DEVICE, "Connected") is True
    finally:
        client.close()
        fake.stop()
        assert daemon.stop() in (0, None), daemon.output()
