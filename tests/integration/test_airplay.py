"""AirPlay pairing and the MRP tunnel of tvOS 15, through D-Bus only, against the fake Apple TV
in its tvOS 15 shape (AirPlay + Companion + RAOP, no _mediaremotetv._tcp)."""

import pytest

from atvd_harness import (DEVICE, ERROR_PREFIX, HANDLER, SERVICE, BusError, Client,
                          pair_with_pin, wrong_then_right_pin)


@pytest.fixture
def fake(fake):
    """Fake Apple TVs in the tvOS 15 shape unless told otherwise."""
    def start(name, identifier, mac, *extra, tvos15=True):
        return fake(name, identifier, mac, *(["--tvos15"] if tvos15 else []), *extra)
    return start


def test_tvos15_shape_pairs_airplay_wrong_then_right_pin(client, fake):
    device = fake("AirPlay Room", "fake-atv-a001", "AA:BB:CC:00:0A:01")
    path = client.find("AA:BB:CC:00:0A:01", "airplay")
    objects = client.managed_objects()
    assert path + "/mrp" not in objects
    assert client.get(path + "/airplay", SERVICE, "Pairing") == "mandatory"
    assert "airplay" in client.get("/org/atvd", "org.atvd.Manager1", "Protocols")

    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["airplay", {}])[0]
    assert handler == path + "/airplay/pairing"
    assert client.get(handler, HANDLER, "Protocol") == "airplay"
    assert client.get(handler, HANDLER, "DeviceProvidesPin") is True
    wrong_then_right_pin(client, device, handler, path + "/airplay")
    client.atvd(handler, HANDLER, "Close")


def test_connect_without_pairing_says_pair_airplay(client, fake):
    fake("Unpaired Room", "fake-atv-a002", "AA:BB:CC:00:0A:02")
    path = client.find("AA:BB:CC:00:0A:02", "airplay")
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "AuthenticationFailed"
    assert "pair airplay" in error.value.text
    assert client.get(path, DEVICE, "Connected") is False


def test_pair_restart_connect_through_tunnel_and_close(daemon, client, fake):
    device = fake("Tunnel Room", "fake-atv-a003", "AA:BB:CC:00:0A:03")
    path = client.find("AA:BB:CC:00:0A:03", "airplay")
    pair_with_pin(client, device, path, "airplay")

    # A restarted atvd still has the AirPlay credentials and tunnels MRP with them.
    client.close()
    assert daemon.stop() == 0
    daemon.start()
    client = Client()
    try:
        assert client.find("AA:BB:CC:00:0A:03", "airplay") == path
        assert client.get(path + "/airplay", SERVICE, "Paired") is True
        client.atvd(path, DEVICE, "Connect")
        device.expect("TUNNEL open")
        assert client.get(path, DEVICE, "Connected") is True
        assert client.get(path, DEVICE, "ConnectedProtocols") == ["airplay"]

        client.atvd(path, DEVICE, "Close")
        device.expect("TUNNEL closed")
        assert client.get(path, DEVICE, "Connected") is False
        assert client.get(path, DEVICE, "ConnectedProtocols") == []
        assert client.signals_named("ConnectionLost", path) == []
    finally:
        client.close()


def test_tunnel_lost_when_the_device_goes_away(client, fake):
    device = fake("Vanishing Room", "fake-atv-a004", "AA:BB:CC:00:0A:04")
    path = client.find("AA:BB:CC:00:0A:04", "airplay")
    pair_with_pin(client, device, path, "airplay")
    client.atvd(path, DEVICE, "Connect")
    device.expect("TUNNEL open")
    device.stop()
    client.wait_for(lambda: client.signals_named("ConnectionLost", path), what="ConnectionLost")
    client.wait_for(lambda: client.get(path, DEVICE, "Connected") is False, what="disconnected")


def test_legacy_pairing_on_an_airplay_1_receiver(client, fake):
    # The tvOS 13 shape announces AirPlay without the AirPlay 2 feature bits: legacy pairing.
    device = fake("Legacy Room", "fake-atv-a005", "AA:BB:CC:00:0A:05", tvos15=False)
    path = client.find("fake-atv-a005", "airplay")
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["airplay", {}])[0]
    wrong_then_right_pin(client, device, handler, path + "/airplay")
    client.atvd(handler, HANDLER, "Close")


def test_homepod_connects_with_transient_pairing(client, fake):
    # No pairing at all: a HomePod lets a controller in with transient pairing (PIN 3939).
    device = fake("Kitchen HomePod", "fake-atv-a006", "AA:BB:CC:00:0A:06", "--homepod",
                  tvos15=False)
    path = client.find("AA:BB:CC:00:0A:06", "airplay")
    assert client.get(path + "/airplay", SERVICE, "Paired") is False
    client.atvd(path, DEVICE, "Connect")
    device.expect("TUNNEL open")
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["airplay"]
    client.atvd(path, DEVICE, "Close")
    device.expect("TUNNEL closed")
    assert client.get(path, DEVICE, "Connected") is False


def test_companion_joins_the_tunnel_when_paired(client, fake):
    """tvOS 15: Connect opens the AirPlay tunnel and Companion together, and Close ends both."""
    device = fake("Both Room", "fake-atv-a007", "AA:BB:CC:00:0A:07")
    path = client.find("AA:BB:CC:00:0A:07", "airplay", "companion")
    pair_with_pin(client, device, path, "airplay")
    pair_with_pin(client, device, path, "companion")

    client.atvd(path, DEVICE, "Connect")
    device.expect("TUNNEL open")
    assert sorted(client.get(path, DEVICE, "ConnectedProtocols")) == ["airplay", "companion"]
    client.atvd(path, DEVICE, "Close")
    # Companion and the tunnel close side by side, so their lines come in either order.
    device.expect_all(["TUNNEL closed", "SESSION-STOP "])
    assert client.get(path, DEVICE, "ConnectedProtocols") == []
