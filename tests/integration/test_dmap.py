"""DMAP through D-Bus only. Pairing runs in reverse, so the test plays the Apple TV: it finds
the remote atvd announces (`_touch-remote._tcp`, through the environment's avahi-daemon, with
avahi-browse) and calls its /pair endpoint with a wrong and then the right code. Connecting
logs in to the fake Apple TV's DMAP side, which trusts the GUID the pairing used."""

import hashlib
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from dbus_next import Variant

from atvd_harness import DEVICE, ERROR_PREFIX, HANDLER, SERVICE, BusError

GUID = "0x0123456789ABCDEF"
NAME = "atvd tests"


def remotes():
    """The resolved _touch-remote._tcp services: [(name, port, {txt})]."""
    result = subprocess.run(["avahi-browse", "-rpt", "_touch-remote._tcp"],
                            capture_output=True, text=True, timeout=20)
    found = []
    for line in result.stdout.splitlines():
        fields = line.split(";")
        if fields[0] != "=" or fields[2] != "IPv4":
            continue
        txt = {}
        for item in fields[9:]:
            for part in item.split('" "'):
                key, _, value = part.strip('"').partition("=")
                txt[key] = value
        found.append((fields[3], int(fields[8]), txt))
    return found


def wait_for_remote(client):
    def announced():
        for name, port, txt in remotes():
            if txt.get("Pair") == GUID[2:]:
                return name, port, txt
        return None
    return client.wait_for(announced, timeout=20, what="_touch-remote._tcp announced")


def pairing_code(pin):
    data = GUID[2:].encode() + b"".join(d.encode() + b"\0" for d in pin)
    return hashlib.md5(data).hexdigest().upper()


def call_pair(port, code):
    url = f"http://127.0.0.1:{port}/pair?pairingcode={code}&servicename=FAKEATV0001"
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def dmap_tags(data):
    """Decodes one level of DMAP tags: {tag: bytes}."""
    tags, at = {}, 0
    while at < len(data):
        tag, length = data[at:at + 4].decode(), struct.unpack(">I", data[at + 4:at + 8])[0]
        tags[tag] = data[at + 8:at + 8 + length]
        at += 8 + length
    return tags


def begin(client, path, timeout_ms=None):
    options = {"Name": Variant("s", NAME), "PairingGuid": Variant("s", GUID)}
    if timeout_ms is not None:
        options["Timeout"] = Variant("u", timeout_ms)
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["dmap", options])[0]
    client.atvd(handler, HANDLER, "Begin")
    return handler


def test_pair_in_reverse_then_connect_and_close(client, fake):
    device = fake("Dmap Room", "fake-atv-d001", "AA:BB:CC:00:0D:01", "--dmap-credentials", GUID)
    path = client.find("fake-atv-d001", "dmap")
    assert client.get(path + "/dmap", SERVICE, "Pairing") == "mandatory"
    assert client.get(path + "/dmap", SERVICE, "Identifier") == "0000AABBCC000D01"

    handler = begin(client, path)
    assert client.get(handler, HANDLER, "DeviceProvidesPin") is False
    client.atvd(handler, HANDLER, "Pin", "s", ["4321"])
    name, port, txt = wait_for_remote(client)
    assert len(name) == 40 and name.isdigit()
    assert txt["DvNm"] == NAME
    assert txt["RemV"] == "10000" and txt["DvTy"] == "iPod" and txt["RemN"] == "Remote"
    assert txt["txtvers"] == "1"

    # A wrong PIN typed on the TV: refused, and the endpoint keeps serving.
    status, _ = call_pair(port, pairing_code("1234"))
    assert status == 500
    assert client.get(handler, HANDLER, "HasPaired") is False

    # Finish waits for the device, which calls with the right code a moment later.
    answers = []
    caller = threading.Thread(
        target=lambda: (time.sleep(1), answers.append(call_pair(port, pairing_code("4321")))))
    caller.start()
    client.atvd(handler, HANDLER, "Finish")
    caller.join()
    status, body = answers[0]
    assert status == 200
    reply = dmap_tags(body)
    assert set(reply) == {"cmpa"}
    fields = dmap_tags(reply["cmpa"])
    assert struct.unpack(">Q", fields["cmpg"])[0] == int(GUID, 16)
    assert fields["cmnm"].decode() == NAME
    assert fields["cmty"].decode() == "iPhone"
    assert client.get(handler, HANDLER, "HasPaired") is True
    assert client.get(path + "/dmap", SERVICE, "Paired") is True

    # Closing the handler withdraws the remote.
    client.atvd(handler, HANDLER, "Close")
    client.wait_for(lambda: all(t.get("Pair") != GUID[2:] for _, _, t in remotes()),
                    timeout=20, what="_touch-remote._tcp withdrawn")

    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["dmap"]
    session = device.expect("DMAP LOGIN ").split()[2]
    client.atvd(path, DEVICE, "Close")
    assert client.get(path, DEVICE, "Connected") is False
    assert device.expect("DMAP LOGOUT ").split()[2] == session


def test_finish_times_out_when_the_device_never_calls(client, fake):
    fake("Dmap Quiet", "fake-atv-d002", "AA:BB:CC:00:0D:02", "--dmap")
    path = client.find("fake-atv-d002", "dmap")
    handler = begin(client, path, timeout_ms=4000)
    client.atvd(handler, HANDLER, "Pin", "s", ["1111"])
    started = time.monotonic()
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Finish")
    assert error.value.name == ERROR_PREFIX + "Timeout"
    assert 2.5 < time.monotonic() - started < 10  # a second less than the handler timeout
    assert client.get(path + "/dmap", SERVICE, "Paired") is False
    assert client.get(handler, HANDLER, "State") == "failed"
    client.atvd(handler, HANDLER, "Close")
    client.wait_for(lambda: handler not in client.managed_objects(), what="handler gone")


def test_home_sharing_connects_without_pairing(client, fake):
    home_sharing = "12345678-90AB-CDEF-1234-567890ABCDEF"
    device = fake("Dmap Shared", "fake-atv-d004", "AA:BB:CC:00:0D:04",
                  "--dmap-home-sharing", home_sharing)
    path = client.find("fake-atv-d004", "dmap")
    assert client.get(path + "/dmap", SERVICE, "Pairing") == "optional"
    assert client.get(path + "/dmap", SERVICE, "Paired") is False
    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["dmap"]
    session = device.expect("DMAP LOGIN ").split()[2]
    client.atvd(path, DEVICE, "Close")
    assert device.expect("DMAP LOGOUT ").split()[2] == session


def test_connect_with_an_untrusted_guid_fails_and_credentials_are_checked(client, fake):
    fake("Dmap Strict", "fake-atv-d003", "AA:BB:CC:00:0D:03", "--dmap")
    path = client.find("fake-atv-d003", "dmap")
    for bad in ["", "0x123", "not credentials", "0123456789ABCDEF"]:
        with pytest.raises(BusError) as error:
            client.atvd(path, DEVICE, "SetCredentials", "ss", ["dmap", bad])
        assert error.value.name == ERROR_PREFIX + "InvalidArguments"
        assert "0x" in error.value.text
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "AuthenticationFailed"
    assert client.atvd(path, DEVICE, "SetCredentials", "ss", ["dmap", GUID]) == [True]
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "AuthenticationFailed"
    assert GUID not in error.value.text
    assert client.get(path, DEVICE, "Connected") is False


def test_connection_lost_when_the_device_goes(client, fake):
    # The play status long poll notices: the device's DMAP side goes with it.
    home_sharing = "12345678-90AB-CDEF-1234-567890ABCDE5"
    device = fake("Dmap Leaving", "fake-atv-d005", "AA:BB:CC:00:0D:05",
                  "--dmap-home-sharing", home_sharing)
    path = client.find("fake-atv-d005", "dmap")
    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["dmap"]
    device.stop()
    client.wait_for(lambda: client.signals_named("ConnectionLost", path), timeout=10,
                    what="ConnectionLost")
    assert "DMAP" in client.signals_named("ConnectionLost", path)[0].body[0]
    client.wait_for(lambda: client.get(path, DEVICE, "Connected") is False, what="disconnected")


def test_control_over_dmap_through_d_bus(client, fake):
    """An Apple TV 3 controlled over DMAP alone: keys as the Remote app sends them, what plays
    from the play status long poll, volume."""
    home_sharing = "12345678-90AB-CDEF-1234-567890ABCDE6"
    device = fake("Dmap Control", "fake-atv-d006", "AA:BB:CC:00:0D:06",
                  "--dmap-home-sharing", home_sharing)
    path = client.find("fake-atv-d006", "dmap")
    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["dmap"]

    device.send("dmap-play title=Anthem artist=Band total=200000 remaining=150000 state=playing")
    client.wait_for(lambda: client.get(path, "org.atvd.Player1", "Title") == "Anthem",
                    what="the title from the play status")
    assert client.get(path, "org.atvd.Player1", "Artist") == "Band"
    assert client.get(path, "org.atvd.Player1", "State") == "playing"
    features = client.get(path, DEVICE, "Features")
    assert features["Title"] == "available"

    remote = "org.atvd.RemoteControl1"
    client.atvd(path, remote, "Press", "sa{sv}", ["select", {}])
    device.expect("DMAP PROMPT select")
    client.atvd(path, remote, "Press", "sa{sv}", ["play_pause", {}])
    device.expect("DMAP CMD playpause")
    client.atvd(path, remote, "Press", "sa{sv}", ["left", {}])
    device.expect("DMAP SWIPE left")
    with pytest.raises(BusError) as error:
        client.atvd(path, remote, "Press", "sa{sv}", ["select", {"Action": Variant("s", "hold")}])
    assert error.value.name == ERROR_PREFIX + "NotSupported"
    client.atvd(path, DEVICE, "Close")


def test_dmap_volume_follows_the_device(client, fake):
    """Audio1.Volume follows the volume the Apple TV 3 reports: a change is a new play status
    revision, after which atvd reads the volume again and signals it."""
    home_sharing = "12345678-90AB-CDEF-1234-567890ABCDE7"
    device = fake("Dmap Volume", "fake-atv-d007", "AA:BB:CC:00:0D:07",
                  "--dmap-home-sharing", home_sharing)
    path = client.find("fake-atv-d007", "dmap")
    client.atvd(path, DEVICE, "Connect")
    audio = "org.atvd.Audio1"
    assert client.get(path, audio, "Volume") == 50

    def volumes():
        return [s.body[1]["Volume"].value for s in client.signals_named("PropertiesChanged", path)
                if s.body[0] == audio and "Volume" in s.body[1]]
    client.signals.clear()
    device.send("dmap-volume 30")
    assert device.expect("SCRIPTED") == "SCRIPTED dmap-volume"
    client.wait_for(lambda: client.get(path, audio, "Volume") == 30, what="volume 30")
    client.wait_for(lambda: 30 in volumes(), what="Volume signalled")

    # A change made on the device's side, not by atvd, is followed as well.
    device.send("dmap-volume 75")
    client.wait_for(lambda: 75 in volumes(), what="Volume 75 signalled")
    assert client.get(path, audio, "Volume") == 75

    device.send("dmap-volume off")
    client.wait_for(lambda: client.get(path, DEVICE, "Features")["SetVolume"] != "available",
                    what="volume control gone")
    client.atvd(path, DEVICE, "Close")

