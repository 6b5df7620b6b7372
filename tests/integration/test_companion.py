"""Companion pairing and connecting through D-Bus only, against the fake Apple TV, which serves
Companion on a port of its own next to MRP."""

import pytest
from dbus_next import Variant

from atvd_harness import ERROR_PREFIX, BusError, FakeAppleTV

DEVICE = "org.atvd.Device1"
SERVICE = "org.atvd.Service1"
HANDLER = "org.atvd.PairingHandler1"


@pytest.fixture
def fake():
    fakes = []

    def start(name, identifier, mac):
        device = FakeAppleTV(name, identifier, mac)
        fakes.append(device)
        return device
    yield start
    for device in fakes:
        device.stop()


def find(client, identifier, timeout=10):
    paths = client.scan(Identifiers=[identifier], timeout=int(timeout * 1000))
    assert paths, f"{identifier} not found"
    return paths[0]


def pair(client, device, path, protocol):
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}",
                          [protocol, {"Name": Variant("s", "atvd tests")}])[0]
    client.atvd(handler, HANDLER, "Begin")
    client.atvd(handler, HANDLER, "Pin", "s", [device.pin()])
    client.atvd(handler, HANDLER, "Finish")
    assert client.get(handler, HANDLER, "HasPaired") is True
    client.atvd(handler, HANDLER, "Close")
    client.wait_for(lambda: handler not in client.managed_objects(), what="handler gone")


def printed_so_far(device):
    lines = []
    while not device.lines.empty():
        lines.append(device.lines.get_nowait())
    return lines


def test_pair_companion_wrong_then_right_pin(client, fake):
    device = fake("Companion Room", "fake-atv-c001", "AA:BB:CC:00:0C:01")
    path = find(client, "fake-atv-c001")
    client.wait_for(lambda: path + "/companion" in client.managed_objects(),
                    what="Companion service")
    assert client.get(path + "/companion", SERVICE, "Pairing") == "mandatory"
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["companion", {}])[0]
    assert client.get(handler, HANDLER, "Protocol") == "companion"
    client.atvd(handler, HANDLER, "Begin")
    shown = device.pin()
    client.atvd(handler, HANDLER, "Pin", "s", ["0000" if shown != "0000" else "1111"])
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Finish")
    assert error.value.name == ERROR_PREFIX + "PairingFailed"
    assert "PIN" in error.value.text
    assert client.get(path + "/companion", SERVICE, "Paired") is False

    client.atvd(handler, HANDLER, "Begin")
    client.atvd(handler, HANDLER, "Pin", "s", [device.pin()])
    client.atvd(handler, HANDLER, "Finish")
    assert client.get(path + "/companion", SERVICE, "Paired") is True
    client.atvd(handler, HANDLER, "Close")


def test_connect_mrp_and_companion(client, fake):
    device = fake("Both Room", "fake-atv-c002", "AA:BB:CC:00:0C:02")
    path = find(client, "fake-atv-c002")
    client.wait_for(lambda: path + "/companion" in client.managed_objects(),
                    what="Companion service")
    pair(client, device, path, "mrp")
    pair(client, device, path, "companion")
    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    assert sorted(client.get(path, DEVICE, "ConnectedProtocols")) == ["companion", "mrp"]
    assert not any(line.startswith("SESSION-STOP") for line in printed_so_far(device))
    client.atvd(path, DEVICE, "Close")
    assert client.get(path, DEVICE, "Connected") is False
    assert client.get(path, DEVICE, "ConnectedProtocols") == []
    # Close stopped the Companion session: the fake names the session it started (0x12345678
    # in the upper half) as the one stopped.
    stopped = device.expect("SESSION-STOP ", timeout=5).split()[1]
    assert len(stopped) == 16 and stopped.startswith("12345678")


def test_rpfl_decides_whether_companion_can_pair(client, publisher):
    """rpFl (protocols.md §2): bit 0x04 disables pairing; without 0x4000 it is unsupported."""
    for flags, requirement in (("0x627B6", "disabled"), ("0x627B2", "unsupported")):
        identifier = "rpfl-" + requirement + "-0001"
        publisher.publish("Flags " + requirement, "_companion-link._tcp", 49160, {
            "rpFl": flags, "rpMd": "AppleTV11,1", "rpMRtID": identifier})
        path = find(client, identifier)
        client.wait_for(lambda: path + "/companion" in client.managed_objects(),
                        what="Companion service")
        assert client.get(path + "/companion", SERVICE, "Pairing") == requirement
        with pytest.raises(BusError) as error:
            client.atvd(path, DEVICE, "Pair", "sa{sv}", ["companion", {}])
        assert error.value.name == ERROR_PREFIX + "NotSupported"
        assert requirement in error.value.text
