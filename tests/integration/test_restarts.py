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

from atvd_harness import (DEVICE, HANDLER, SERVICE, Client, Daemon, FakeAppleTV, Publisher,
                          name_has_owner, pair_with_pin, publish_apple_tv_4k)

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


def test_bus_loss_with_everything_alive_tears_down_without_an_abort():
    """The bus dies while atvd has devices exported, a pairing handler half-way and a device
    connected: atvd must not talk to the dead bus from any destructor or callback, and it ends
    with the plain failure status systemd restarts on, not an abort or a sanitizer report."""
    identifier = "fake-atv-0702"
    fake = FakeAppleTV("Busless Room", identifier, "AA:BB:CC:00:07:02")
    publisher = Publisher()
    publish_apple_tv_4k(publisher, name="Bystander", mac="AA:BB:CC:00:07:03",
                        mrp_id="5D797FD3-4E2B-4B5F-9E3A-1A2B3C070003")
    daemon = Daemon(log_level="debug").start()
    client = Client()
    try:
        path = client.find(identifier, "mrp", "companion", timeout=15)
        client.find("5D797FD3-4E2B-4B5F-9E3A-1A2B3C070003", "mrp", timeout=15)
        pair_with_pin(client, fake, path)
        client.atvd(path, DEVICE, "Connect")
        handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["companion", {}])[0]
        client.atvd(handler, HANDLER, "Begin")
        fake.pin()
        client.close()

        stop_bus()
        daemon.process.wait(15)
        output = daemon.output()
        assert daemon.process.returncode == 1, f"exit status {daemon.process.returncode}:\n{output}"
        for sign in ("terminate called", "Sanitizer", "runtime error"):
            assert sign not in output, output
        assert "D-Bus connection failed" in output
        # The connection was closed as on the device's own side, not dropped by exit.
        assert "connection to Busless Room" in output and "closed" in output, output
        daemon.stop()
    finally:
        client.close()
        publisher.withdraw_all()
        fake.stop()
        daemon.stop()
        start_bus_and_avahi()


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
