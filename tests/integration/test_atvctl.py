"""atvctl, the command-line client, against a real atvd on the test system bus."""

import json
import os
import queue
import subprocess
import threading
import time

import pytest

from atvd_harness import (APPLE_TV_4K, DEVICE, SERVICE, Client, credential_files,
                          publish_apple_tv_4k)

FAKE_PIN = "4321"


def atvctl(*args, stdin=None, timeout=60):
    return subprocess.run([os.environ["ATVCTL_BINARY"], *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


_fake_count = iter(range(1, 100))


@pytest.fixture
def fake(fake):
    """A fake Apple TV whose name, identifier and MAC differ in every test, so services a
    previous test's fake left in Avahi's cache cannot be mistaken for it."""
    def start(*extra):
        number = next(_fake_count)
        return fake(f"CLI Room {number}", f"fake-atv-cli-{number:04d}",
                    f"AA:BB:CC:00:10:{number:02X}", *extra)
    return start


def add_manual(client, name, identifier, address):
    return client.atvd("/org/atvd", "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)",
                       [address, name, [["mrp", 49152, identifier, {}, ""]]])[0]


def test_devices_scan_and_info_show_a_published_apple_tv(client, publisher):
    publish_apple_tv_4k(publisher)
    path = client.find(APPLE_TV_4K["mrp_id"], timeout=15)

    result = atvctl("devices")
    assert result.returncode == 0, result.stderr
    assert "Living Room" in result.stdout
    assert APPLE_TV_4K["mrp_id"] in result.stdout

    result = atvctl("--json", "devices")
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)["Devices"]
    device = next(d for d in devices if d["Path"] == path)
    assert device["Name"] == "Living Room"
    assert APPLE_TV_4K["mrp_id"] in device["Identifiers"]
    assert device["Present"] is True
    assert device["Services"]["mrp"]["Port"] == 49152
    assert device["Services"]["mrp"]["Path"] == path + "/mrp"
    assert device["Services"]["mrp"]["Properties"]["UniqueIdentifier"] == APPLE_TV_4K["mrp_id"]

    result = atvctl("scan", "--id", APPLE_TV_4K["mrp_id"], "--timeout", "5000", "--json")
    assert result.returncode == 0, result.stderr
    assert [d["Path"] for d in json.loads(result.stdout)["Devices"]] == [path]

    result = atvctl("scan", "--protocols", "mrp,airplay", "--timeout", "1000")
    assert result.returncode == 0, result.stderr
    assert "Living Room" in result.stdout

    result = atvctl("info", "Living Room")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Device " + path + "\n")
    assert "  Name: Living Room\n" in result.stdout
    assert "  Service mrp (" + path + "/mrp)\n" in result.stdout
    assert "    Port: 49152\n" in result.stdout

    for handle in (APPLE_TV_4K["mrp_id"], path, APPLE_TV_4K["mac"]):
        result = atvctl("--json", "info", handle)
        assert result.returncode == 0, (handle, result.stderr)
        info = json.loads(result.stdout)
        assert info["Path"] == path
        assert info["Model"] == "Gen4K"
        assert set(info["Services"]) >= {"mrp", "airplay", "companion", "raop"}


def test_ambiguous_name_lists_candidates(client):
    first = add_manual(client, "Twin", "twin-id-1", "127.0.0.1")
    second = add_manual(client, "Twin", "twin-id-2", "127.0.0.2")
    result = atvctl("info", "Twin")
    assert result.returncode == 3
    assert "'Twin' names 2 devices" in result.stderr
    assert first in result.stderr and second in result.stderr
    assert "twin-id-1" in result.stderr and "twin-id-2" in result.stderr

    result = atvctl("--json", "info", "twin-id-2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Path"] == second


def test_unknown_device_exits_3(client):
    result = atvctl("info", "No Such Device")
    assert result.returncode == 3
    assert "no device 'No Such Device'" in result.stderr


def test_pair_connect_close_forget(daemon, client, fake):
    device = fake("--pin", FAKE_PIN)
    fake_id = device.identifier
    path = client.find(fake_id, timeout=15)

    result = atvctl("pair", fake_id, "mrp", "--pin", FAKE_PIN, "--name", "cli tests")
    assert result.returncode == 0, result.stderr
    assert f"Paired with {device.name} (mrp)" in result.stdout
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    # The pairing handler was closed afterwards.
    client.wait_for(lambda: path + "/mrp/pairing" not in client.managed_objects(),
                    what="pairing handler gone")

    result = atvctl("--json", "connect", device.name)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Path": path, "Connected": True,
                                         "ConnectedProtocols": ["mrp"]}
    assert client.get(path, DEVICE, "Connected") is True

    result = atvctl("close", path)
    assert result.returncode == 0, result.stderr
    assert client.get(path, DEVICE, "Connected") is False

    assert len(credential_files(daemon.state_dir)) == 1
    result = atvctl("forget", fake_id)
    assert result.returncode == 0, result.stderr
    assert f"Forgot {device.name}" in result.stdout
    assert credential_files(daemon.state_dir) == []


def test_pair_reads_the_pin_from_stdin(client, fake):
    device = fake()
    fake_id = device.identifier
    path = client.find(fake_id, timeout=15)
    process = subprocess.Popen([os.environ["ATVCTL_BINARY"], "pair", fake_id, "mrp"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        pin = device.pin()
    except AssertionError:
        process.kill()
        raise AssertionError("no PIN shown; atvctl said: " + process.communicate()[1])
    out, err = process.communicate(pin + "\n", timeout=60)
    assert process.returncode == 0, err
    assert f"Enter the PIN shown on {device.name}" in err
    assert f"Paired with {device.name} (mrp)" in out
    assert client.get(path + "/mrp", SERVICE, "Paired") is True


def test_wrong_pin_exits_1_with_the_error_name(client, fake):
    fake_id = fake("--pin", FAKE_PIN).identifier
    path = client.find(fake_id, timeout=15)
    result = atvctl("pair", fake_id, "mrp", "--pin", "1234")
    assert result.returncode == 1
    assert "atvctl: org.atvd.Error.PairingFailed: " in result.stderr
    assert client.get(path + "/mrp", SERVICE, "Paired") is False
    # The failed handler was closed, so pairing can start again at once.
    result = atvctl("pair", fake_id, "mrp", "--pin", FAKE_PIN)
    assert result.returncode == 0, result.stderr


def test_set_credentials_reads_stdin(daemon, client, fake):
    fake_id = fake("--pin", FAKE_PIN).identifier
    path = client.find(fake_id, timeout=15)
    assert atvctl("pair", fake_id, "mrp", "--pin", FAKE_PIN).returncode == 0
    [credentials_file] = credential_files(daemon.state_dir)
    with open(credentials_file) as f:
        stored = next(line.split(" ", 2)[2].strip() for line in f
                      if line.startswith("credentials "))
    # An atvd that has lost its credentials (as after a reinstall) sees the device unpaired.
    client.close()
    assert daemon.stop() == 0
    os.remove(credentials_file)
    daemon.start()
    client = Client()
    try:
        assert client.find(fake_id, timeout=15) == path
        client.wait_for(lambda: path + "/mrp" in client.managed_objects(), what="MRP service")
        assert client.get(path + "/mrp", SERVICE, "Paired") is False
        check_set_credentials(client, fake_id, path, stored)
    finally:
        client.close()


def check_set_credentials(client, fake_id, path, stored):
    result = atvctl("set-credentials", fake_id, "mrp", stdin="not credentials\n")
    assert result.returncode == 1
    assert "org.atvd.Error.InvalidArguments" in result.stderr
    assert "not credentials" not in result.stderr

    result = atvctl("set-credentials", fake_id, "mrp", stdin=stored + "\n")
    assert result.returncode == 0, result.stderr
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    assert atvctl("connect", fake_id).returncode == 0
    assert atvctl("close", fake_id).returncode == 0

    result = atvctl("set-credentials", fake_id, "dmap", stdin=stored)
    assert result.returncode == 3
    assert "has no dmap service" in result.stderr


def test_monitor_prints_a_device_appearing(client, publisher):
    process = subprocess.Popen([os.environ["ATVCTL_BINARY"], "monitor"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Monitoring atvd" in process.stderr.readline()
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                         daemon=True).start()
        mrp_id = "5D797FD3-4E2B-4B5F-9E3A-1A2B3C4D5E71"
        publish_apple_tv_4k(publisher, name="Monitored", mac="AA:BB:CC:DD:EE:71",
                            mrp_id=mrp_id)
        path = "/org/atvd/devices/d_" + mrp_id.replace("-", "_")
        expected = [
            lambda line: line.startswith(f"added device {path} identifier={mrp_id}"),
            lambda line: line == f"added service {path}/mrp\n",
            lambda line: line.startswith(f"changed device {path} ") and " Name=Monitored" in line,
        ]
        deadline = time.monotonic() + 15
        seen = []
        while not all(any(matches(line) for line in seen) for matches in expected):
            assert time.monotonic() < deadline, f"an expected event is missing in {seen}"
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
    finally:
        process.terminate()
        process.wait(10)
    assert process.returncode == 0


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["info"], ["info", "a", "b"], ["pair", "x", "telnet"],
    ["scan", "--timeout", "soon"], ["scan", "--hosts", ""], ["devices", "--pin", "1"],
    ["--bogus", "devices"], ["set-credentials", "x"], ["pair", "x", "mrp", "--pin", "12a4"],
    ["scan", "--timeout"],
])
def test_usage_errors_exit_2(args):
    result = atvctl(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert result.stderr.startswith("atvctl: ")
    assert result.stdout == ""


def test_help_and_version():
    result = atvctl("--help")
    assert result.returncode == 0 and "Usage: atvctl" in result.stdout
    result = atvctl("--version")
    assert result.returncode == 0 and result.stdout.startswith("atvctl ")


def test_monitor_json_follows_atvd_stopping_and_starting(daemon, client):
    process = subprocess.Popen([os.environ["ATVCTL_BINARY"], "monitor", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    restarted = None
    try:
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                         daemon=True).start()
        time.sleep(0.5)  # the match rules are in place well before this

        def wait_event(matches):
            # Leftover services from earlier tests may show up first: skip those events.
            deadline = time.monotonic() + 15
            while True:
                event = json.loads(lines.get(timeout=max(0.01, deadline - time.monotonic())))
                if matches(event):
                    return event

        client.close()
        assert daemon.stop() == 0
        wait_event(lambda event: event == {"Event": "atvd-stopped"})
        daemon.start()
        wait_event(lambda event: event == {"Event": "atvd-started"})
        restarted = Client()
        manual = add_manual(restarted, "Manual", "manual-id-1", "127.0.0.1")
        event = wait_event(lambda event: event["Event"] == "added" and event["Path"] == manual)
        assert event["Interfaces"]["org.atvd.Device1"]["Manual"] is True
        assert event["Interfaces"]["org.atvd.Device1"]["Identifier"] == "manual-id-1"
    finally:
        if restarted:
            restarted.close()
        process.terminate()
        process.wait(10)
    assert process.returncode == 0
