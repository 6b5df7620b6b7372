"""Connect connects what it can: one protocol that refuses or talks nonsense does not keep the
others from a device, and is tried again at the next Connect. Only when nothing connects does
Connect fail, with the error that tells most."""

import socket
import threading

import pytest

from atvd_harness import (DEVICE, ERROR_PREFIX, MANAGER, BusError, pair_with_pin)

GUID = "0x0123456789ABCDEF"
# Well-formed MRP credentials that no device knows.
FOREIGN = ":".join(["11" * 32, "22" * 32, "33" * 36, "44" * 36])


class Garbage:
    """A TCP server that answers every connection with bytes no protocol expects."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            try:
                connection.recv(4096)
                connection.sendall(b"\x00\xffNONSENSE\r\n\r\n" * 8)
            except OSError:
                pass
            connection.close()

    def close(self):
        self.server.close()


def refused_port():
    """A loopback port nobody listens on."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def add_device(client, name, services):
    return client.atvd(MANAGER, "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)",
                       ["127.0.0.1", name, services])[0]


def test_a_refused_dmap_leaves_mrp_connected(client, fake):
    device = fake("Partial Room", "fake-atv-p001", "AA:BB:CC:00:0E:01", "--no-publish")
    path = add_device(client, "Partial Room", [
        ["mrp", device.port, "fake-atv-p001", {"AllowPairing": "YES"}, ""],
        ["dmap", refused_port(), "0000AABBCC000E01", {}, GUID]])
    pair_with_pin(client, device, path)

    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["mrp"]
    client.atvd(path, DEVICE, "Close")


def test_a_dmap_answering_garbage_is_tried_again_at_the_next_connect(daemon, client, fake):
    garbage = Garbage()
    try:
        device = fake("Garbled Room", "fake-atv-p002", "AA:BB:CC:00:0E:02", "--no-publish")
        path = add_device(client, "Garbled Room", [
            ["mrp", device.port, "fake-atv-p002", {"AllowPairing": "YES"}, ""],
            ["dmap", garbage.port, "0000AABBCC000E02", {}, GUID]])
        pair_with_pin(client, device, path)

        client.atvd(path, DEVICE, "Connect")
        assert client.get(path, DEVICE, "ConnectedProtocols") == ["mrp"]
        assert garbage.connections >= 1
        # The journal has the reason, with the protocol as a field of its own.
        client.wait_for(lambda: "dmap of Garbled Room" in daemon.output(), what="the log line")
        tried = garbage.connections

        client.atvd(path, DEVICE, "Connect")
        assert garbage.connections > tried, "the next Connect must try DMAP again"
        assert client.get(path, DEVICE, "ConnectedProtocols") == ["mrp"]
        assert client.get(path, DEVICE, "Connected") is True
        client.atvd(path, DEVICE, "Close")
        assert client.get(path, DEVICE, "Connected") is False
    finally:
        garbage.close()


def test_nothing_connected_fails_with_the_most_telling_error(client, fake):
    device = fake("Nothing Room", "fake-atv-p003", "AA:BB:CC:00:0E:03", "--no-publish")
    # MRP refuses the credentials, DMAP refuses the connection: pairing again is what helps.
    path = add_device(client, "Nothing Room", [
        ["mrp", device.port, "fake-atv-p003", {"AllowPairing": "YES"}, FOREIGN],
        ["dmap", refused_port(), "0000AABBCC000E03", {}, GUID]])
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "AuthenticationFailed"
    assert "dmap" in error.value.text, "the other protocol's failure is named too"
    assert client.get(path, DEVICE, "Connected") is False

    # With DMAP alone refusing, the connection failure itself is the answer.
    lone = add_device(client, "Lone Room", [
        ["dmap", refused_port(), "0000AABBCC000E04", {}, GUID]])
    with pytest.raises(BusError) as error:
        client.atvd(lone, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "ConnectionFailed"
    assert client.get(lone, DEVICE, "Connected") is False
