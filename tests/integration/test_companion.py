"""Companion pairing and connecting through D-Bus only, against the fake Apple TV, which serves
Companion on a port of its own next to MRP."""

import pytest

from atvd_harness import (DEVICE, ERROR_PREFIX, HANDLER, SERVICE, BusError, pair_with_pin,
                          wrong_then_right_pin)


def printed_so_far(device):
    lines = []
    while not device.lines.empty():
        lines.append(device.lines.get_nowait())
    return lines


def test_pair_companion_wrong_then_right_pin(client, fake):
    device = fake("Companion Room", "fake-atv-c001", "AA:BB:CC:00:0C:01")
    path = client.find("fake-atv-c001", "companion")
    assert client.get(path + "/companion", SERVICE, "Pairing") == "mandatory"
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["companion", {}])[0]
    assert client.get(handler, HANDLER, "Protocol") == "companion"
    wrong_then_right_pin(client, device, handler, path + "/companion")
    client.atvd(handler, HANDLER, "Close")


def test_connect_mrp_and_companion(client, fake):
    device = fake("Both Room", "fake-atv-c002", "AA:BB:CC:00:0C:02")
    path = client.find("fake-atv-c002", "companion")
    pair_with_pin(client, device, path, "mrp")
    pair_with_pin(client, device, path, "companion")
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
    # Every message atvd sent, the _interest events included, carried a transaction id (_x):
    # the fake, as a device, refuses and logs any message without one.
    assert "fake-companion: refusing" not in device.output()


def test_rpfl_decides_whether_companion_can_pair(client, publisher):
    """rpFl (protocols.md §2): bit 0x04 disables pairing; without 0x4000 it is unsupported."""
    for flags, requirement in (("0x627B6", "disabled"), ("0x627B2", "unsupported")):
        identifier = "rpfl-" + requirement + "-0001"
        publisher.publish("Flags " + requirement, "_companion-link._tcp", 49160, {
            "rpFl": flags, "rpMd": "AppleTV11,1", "rpMRtID": identifier})
        path = client.find(identifier, "companion")
        assert client.get(path + "/companion", SERVICE, "Pairing") == requirement
        with pytest.raises(BusError) as error:
            client.atvd(path, DEVICE, "Pair", "sa{sv}", ["companion", {}])
        assert error.value.name == ERROR_PREFIX + "NotSupported"
        assert requirement in error.value.text
