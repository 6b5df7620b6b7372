"""atvctl, the command-line client, against a real atvd on the test system bus."""

import glob
import json
import os
import queue
import subprocess
import threading
import time

import pytest
from dbus_next import Variant

from atvd_harness import APPLE_TV_4K, FakeAppleTV, publish_apple_tv_4k

DEVICE = "org.atvd.Device1"
SERVICE = "org.atvd.Service1"
FAKE_ID = "fake-atv-cli-0001"
FAKE_PIN = "4321"


def atvctl(*args, stdin=None, timeout=60):
    return subprocess.run([os.environ["ATVCTL_BINARY"], *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def fake():
    fakes = []

    def start(*extra, name="CLI Room", identifier=FAKE_ID, mac="AA:BB:CC:00:10:01"):
        device = FakeAppleTV(name, identifier, mac, *extra)
        fakes.append(device)
        return device
    yield start
    for device in fakes:
        device.stop()


def wait_for_device(client, identifier):
    paths = client.scan(Identifiers=[identifier], timeout=15000)
    assert paths, f"{identifier} not discovered"
    return paths[0]


def add_manual(client, name, identifier, address):
    return client.atvd("/org/atvd", "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)",
                       [address, name, [["mrp", 49152, identifier, {}, ""]]])[0]


def credential_files(daemon):
    return glob.glob(os.path.join(daemon.state_dir, "*.creds"))


def test_devices_scan_and_info_show_a_published_apple_tv(client, publisher):
    publish_apple_tv_4k(publisher)
    path = wait_for_device(client, APPLE_TV_4K["mrp_id"])

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
    fake("--pin", FAKE_PIN)
    path = wait_for_device(client, FAKE_ID)

    result = atvctl("pair", FAKE_ID, "mrp", "--pin", FAKE_PIN, "--name", "cli tests")
    assert result.returncode == 0, result.stderr
    assert "Paired with CLI Room (mrp)" in result.stdout
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    # The pairing handler was closed afterwards.
    client.wait_for(lambda: path + "/mrp/pairing" not in client.managed_objects(),
                    what="pairing handler gone")

    result = atvctl("--json", "connect", "CLI Room")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Path": path, "Connected": True,
                                         "ConnectedProtocols": ["mrp"]}
    assert client.get(path, DEVICE, "Connected") is True

    result = atvctl("close", path)
    assert result.returncode == 0, result.stderr
    assert client.get(path, DEVICE, "Connected") is False

    assert len(credential_files(daemon)) == 1
    result = atvctl("forget", FAKE_ID)
    assert result.returncode == 0, result.stderr
    assert "Forgot CLI Room" in result.stdout
    assert credential_files(daemon) == []


def test_pair_reads_the_pin_from_stdin(client, fake):
    device = fake()
    path = wait_for_device(client, FAKE_ID)
    process = subprocess.Popen([os.environ["ATVCTL_BINARY"], "pair", FAKE_ID, "mrp"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    pin = device.pin()
    out, err = process.communicate(pin + "\n", timeout=60)
    assert process.returncode == 0, err
    assert "Enter the PIN shown on CLI Room" in err
    assert "Paired with CLI Room (mrp)" in out
    assert client.get(path + "/mrp", SERVICE, "Paired") is True


def test_wrong_pin_exits_1_with_the_error_name(client, fake):
    fake("--pin", FAKE_PIN)
    path = wait_for_device(client, FAKE_ID)
    result = atvctl("pair", FAKE_ID, "mrp", "--pin", "1234")
    assert result.returncode == 1
    assert "atvctl: org.atvd.Error.PairingFailed: " in result.stderr
    assert client.get(path + "/mrp", SERVICE, "Paired") is False
    # The failed handler was closed, so pairing can start again at once.
    result = atvctl("pair", FAKE_ID, "mrp", "--pin", FAKE_PIN)
    assert result.returncode == 0, result.stderr


def test_set_credentials_reads_stdin(daemon, client, fake):
    fake("--pin", FAKE_PIN)
    path = wait_for_device(client, FAKE_ID)
    assert atvctl("pair", FAKE_ID, "mrp", "--pin", FAKE_PIN).returncode == 0
    with open(credential_files(daemon)[0]) as f:
        stored = next(line.split(" ", 2)[2].strip() for line in f
                      if line.startswith("credentials "))
    assert atvctl("forget", FAKE_ID).returncode == 0
    wait_for_device(client, FAKE_ID)
    client.wait_for(lambda: client.get(path + "/mrp", SERVICE, "Paired") is False
                    if path + "/mrp" in client.managed_objects() else False,
                    what="device back unpaired")

    result = atvctl("set-credentials", FAKE_ID, "mrp", stdin="not credentials\n")
    assert result.returncode == 1
    assert "org.atvd.Error.InvalidArguments" in result.stderr
    assert "not credentials" not in result.stderr

    result = atvctl("set-credentials", FAKE_ID, "mrp", stdin=stored + "\n")
    assert result.returncode == 0, result.stderr
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    assert atvctl("connect", FAKE_ID).returncode == 0
    assert atvctl("close", FAKE_ID).returncode == 0

    result = atvctl("set-credentials", FAKE_ID, "dmap", stdin=stored)
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
        expected = [f"added device {path} identifier={mrp_id}", f"added service {path}/mrp",
                    f"changed device {path} "]
        deadline = time.monotonic() + 15
        seen = []
        while not all(any(line.startswith(prefix) for line in seen) for prefix in expected):
            assert time.monotonic() < deadline, f"missing {expected} in {seen}"
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
        assert any(line.startswith(f"changed device {path} ") and " Name=Monitored" in line
                   for line in seen), seen
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
