"""scan → pair → connect → close with MRP, through D-Bus only, against the fake Apple TV."""

import os
import stat
import time

import pytest
from dbus_next import Variant

from atvd_harness import (DEVICE, ERROR_PREFIX, HANDLER, MANAGER, SERVICE, BusError, Client,
                          Daemon, credential_files, pair_with_pin, run_as, stored_secrets,
                          wrong_then_right_pin)


def test_scan_pair_connect_close_restart(daemon, client, fake):
    device = fake()
    path = client.find("fake-atv-0001")
    assert client.get(path + "/mrp", SERVICE, "Pairing") == "optional"
    assert client.get(path + "/mrp", SERVICE, "Paired") is False

    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {"Name": Variant("s", "tests")}])[0]
    assert handler == path + "/mrp/pairing"
    props = client.get_all(handler, HANDLER)
    assert props == {"Protocol": "mrp", "DeviceProvidesPin": True, "HasPaired": False,
                     "State": "created"}
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Finish")
    assert error.value.name == ERROR_PREFIX + "InvalidState"
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])
    assert error.value.name == ERROR_PREFIX + "InProgress"

    client.atvd(handler, HANDLER, "Begin")
    assert client.get(handler, HANDLER, "State") == "begun"
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Pin", "s", ["12a4"])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    client.atvd(handler, HANDLER, "Pin", "s", [device.pin()])
    client.atvd(handler, HANDLER, "Finish")
    assert client.get(handler, HANDLER, "State") == "finished"
    assert client.get(handler, HANDLER, "HasPaired") is True
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    # Still "optional": stored credentials do not change the requirement.
    assert client.get(path + "/mrp", SERVICE, "Pairing") == "optional"

    files = credential_files(daemon.state_dir)
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(daemon.state_dir).st_mode) == 0o700

    client.atvd(handler, HANDLER, "Close")
    client.wait_for(lambda: handler not in client.managed_objects(), what="handler gone")

    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["mrp"]
    client.atvd(path, DEVICE, "Close")
    assert client.get(path, DEVICE, "Connected") is False
    assert client.get(path, DEVICE, "ConnectedProtocols") == []

    # A restarted atvd knows the device at the same path, still paired, and connects at once.
    client.close()
    assert daemon.stop() == 0
    daemon.start()
    client = Client()
    assert client.find("fake-atv-0001", "mrp") == path
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    client.atvd(path, DEVICE, "Close")

    # No secret in any log line, at the most verbose level.
    secrets = stored_secrets(daemon.state_dir)
    assert secrets
    output = daemon.output()
    for secret in secrets:
        assert secret not in output
    client.close()


def test_wrong_pin_then_right_pin(client, fake):
    device = fake("Wrong Pin Room", "fake-atv-0002", "AA:BB:CC:00:00:02")
    path = client.find("fake-atv-0002")
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
    wrong_then_right_pin(client, device, handler, path + "/mrp")


def test_connect_without_pairing_and_rejected_credentials(client, fake):
    fake("Rejecting Room", "fake-atv-0003", "AA:BB:CC:00:00:03", "--misbehave",
         "reject-credentials")
    path = client.find("fake-atv-0003")
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "AuthenticationFailed"
    assert "pair" in error.value.text

    foreign = ":".join(["11" * 32, "22" * 32, "33" * 36, "44" * 36])
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "SetCredentials", "ss", ["mrp", "not-credentials"])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    assert "not-credentials" not in error.value.text
    assert client.atvd(path, DEVICE, "SetCredentials", "ss", ["dmap", foreign]) == [False]
    assert client.atvd(path, DEVICE, "SetCredentials", "ss", ["mrp", foreign]) == [True]
    assert client.get(path + "/mrp", SERVICE, "Paired") is True
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Connect")
    assert error.value.name == ERROR_PREFIX + "AuthenticationFailed"
    assert client.get(path, DEVICE, "Connected") is False


def test_device_vanishes_during_pairing(client, fake):
    device = fake("Vanishing Room", "fake-atv-0004", "AA:BB:CC:00:00:04")
    path = client.find("fake-atv-0004")
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
    client.atvd(handler, HANDLER, "Begin")
    pin = device.pin()
    device.stop()
    client.atvd(handler, HANDLER, "Pin", "s", [pin])
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Finish")
    assert error.value.name in (ERROR_PREFIX + "ConnectionFailed", ERROR_PREFIX + "PairingFailed",
                                ERROR_PREFIX + "ConnectionLost")
    # atvd still serves everyone else.
    assert client.get(MANAGER, "org.atvd.Manager1", "Discovering") is True


def test_handler_times_out_unused(client, fake):
    fake("Timeout Room", "fake-atv-0005", "AA:BB:CC:00:00:05")
    path = client.find("fake-atv-0005")
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {"Timeout": Variant("u", 400)}])[0]
    assert handler in client.managed_objects()
    client.wait_for(lambda: handler not in client.managed_objects(), timeout=5,
                    what="handler removed after its timeout")
    # A new one can be created afterwards.
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
    client.atvd(handler, HANDLER, "Close")


def test_pair_errors(client, publisher):
    publisher.publish("Closed Room", "_mediaremotetv._tcp", 49300,
                      {"Name": "Closed Room", "UniqueIdentifier": "closed-0001",
                       "SystemBuildVersion": "17K795", "AllowPairing": "NO"})
    path = client.find("closed-0001")
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])
    assert error.value.name == ERROR_PREFIX + "NotSupported"
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Pair", "sa{sv}", ["airplay", {}])
    assert error.value.name == ERROR_PREFIX + "NoService"
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Pair", "sa{sv}", ["smtp", {}])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    with pytest.raises(BusError) as error:
        client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {"Colour": Variant("s", "red")}])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    assert "Colour" in error.value.text


def test_loose_credentials_file_is_refused(fake):
    daemon = Daemon().start()
    client = Client()
    device = fake("Loose Room", "fake-atv-0006", "AA:BB:CC:00:00:06")
    path = client.find("fake-atv-0006")
    pair_with_pin(client, device, path)
    client.close()
    assert daemon.stop() == 0
    (creds,) = credential_files(daemon.state_dir)
    os.chmod(creds, 0o644)
    daemon.start()
    client = Client()
    path = client.find("fake-atv-0006")
    client.wait_for(lambda: path + "/mrp" in client.managed_objects(), what="MRP service back")
    assert client.get(path + "/mrp", SERVICE, "Paired") is False
    assert os.path.basename(creds) in daemon.output()
    client.close()
    assert daemon.stop() == 0


def busctl(user, *args):
    return run_as(user, "busctl", "--system", *args)


def test_only_root_and_group_atvd_may_change_state(client, fake):
    device = fake("Guarded Room", "fake-atv-0007", "AA:BB:CC:00:00:07")
    path = client.find("fake-atv-0007")

    # Everyone may read and scan.
    result = busctl("atvd-stranger", "get-property", "org.atvd", path, DEVICE, "Name")
    assert result.returncode == 0 and "Guarded Room" in result.stdout
    result = busctl("atvd-stranger", "call", "org.atvd", MANAGER, "org.atvd.Manager1", "Scan",
                    "a{sv}", "0")
    assert result.returncode == 0, result.stderr

    # A stranger is refused by the bus policy.
    result = busctl("atvd-stranger", "call", "org.atvd", path, DEVICE, "Pair", "sa{sv}", "mrp", "0")
    assert result.returncode != 0
    assert "denied" in result.stderr.lower() or "NotAuthorized" in result.stderr

    # A member of group atvd may pair; the handler is theirs.
    result = busctl("atvd-tester", "call", "org.atvd", path, DEVICE, "Pair", "sa{sv}", "mrp", "0")
    assert result.returncode == 0, result.stderr
    handler = path + "/mrp/pairing"
    result = busctl("atvd-tester", "call", "org.atvd", handler, HANDLER, "Begin")
    assert result.returncode == 0, result.stderr
    pin = device.pin()
    result = busctl("atvd-tester", "call", "org.atvd", handler, HANDLER, "Pin", "s", pin)
    assert result.returncode == 0, result.stderr
    result = busctl("atvd-tester", "call", "org.atvd", handler, HANDLER, "Finish")
    assert result.returncode == 0, result.stderr
    result = busctl("atvd-tester", "call", "org.atvd", handler, HANDLER, "Close")
    assert result.returncode == 0, result.stderr


def test_daemon_checks_callers_itself(client, fake):
    """With a bus that lets everyone through, atvd's own check still refuses strangers."""
    permissive = os.path.join(os.environ["ATVD_ENV_DIR"], "bus.d", "permissive.conf")
    with open(permissive, "w") as f:
        f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"'
                ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                '<busconfig><policy context="mandatory">'
                '<allow send_destination="org.atvd"/></policy></busconfig>\n')
    client.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "ReloadConfig")
    try:
        fake("Open Room", "fake-atv-0008", "AA:BB:CC:00:00:08")
        path = client.find("fake-atv-0008")
        for args in (["Pair", "sa{sv}", "mrp", "0"], ["Connect"], ["Close"],
                     ["SetCredentials", "ss", "mrp", "x"]):
            result = busctl("atvd-stranger", "call", "org.atvd", path, DEVICE, *args)
            assert result.returncode != 0
            assert "allowed to root and to members of the group" in result.stderr, result.stderr
        result = busctl("atvd-stranger", "call", "org.atvd", MANAGER, "org.atvd.Manager1",
                        "RemoveDevice", "o", path)
        assert "allowed to root" in result.stderr
        # A handler belongs to the user who created it.
        handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
        result = busctl("atvd-tester", "call", "org.atvd", handler, HANDLER, "Begin")
        assert result.returncode != 0
        assert "another user" in result.stderr
        client.atvd(handler, HANDLER, "Close")
    finally:
        os.remove(permissive)
        client.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                    "ReloadConfig")


def test_remove_device_deletes_credentials(daemon, client, fake):
    device = fake("Forgotten Room", "fake-atv-0009", "AA:BB:CC:00:00:09")
    path = client.find("fake-atv-0009")
    pair_with_pin(client, device, path)
    assert len(credential_files(daemon.state_dir)) == 1
    client.atvd(MANAGER, "org.atvd.Manager1", "RemoveDevice", "o", [path])
    assert credential_files(daemon.state_dir) == []
    # Still on the network: back at once, unpaired.
    path = client.find("fake-atv-0009")
    client.wait_for(lambda: path + "/mrp" in client.managed_objects() and
                    client.get(path + "/mrp", SERVICE, "Paired") is False,
                    what="unpaired device back")


def test_connection_lost_when_the_device_goes(client, fake):
    device = fake("Dropping Room", "fake-atv-0010", "AA:BB:CC:00:00:10")
    path = client.find("fake-atv-0010")
    pair_with_pin(client, device, path)
    client.atvd(path, DEVICE, "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    device.stop()
    client.wait_for(lambda: client.signals_named("ConnectionLost", path), timeout=10,
                    what="ConnectionLost")
    reason = client.signals_named("ConnectionLost", path)[0].body[0]
    assert reason
    client.wait_for(lambda: client.get(path, DEVICE, "Connected") is False, what="disconnected")
    assert client.get(path, DEVICE, "ConnectedProtocols") == []


@pytest.mark.parametrize("mode,expected", [
    ("wrong-proof", {"PairingFailed"}),
    ("drop-handshake", {"ConnectionFailed", "ConnectionLost", "PairingFailed"}),
    ("stall-setup", {"Timeout"}),
])
def test_misbehaving_device_gives_a_clear_error(client, fake, mode, expected):
    index = {"wrong-proof": 11, "drop-handshake": 12, "stall-setup": 13}[mode]
    device = fake(f"Misbehaving {index}", f"fake-atv-00{index}", f"AA:BB:CC:00:00:{index}",
                  "--misbehave", mode)
    path = client.find(f"fake-atv-00{index}")
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
    started = time.monotonic()
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Begin")
        client.atvd(handler, HANDLER, "Pin", "s", [device.pin(timeout=3)])
        client.atvd(handler, HANDLER, "Finish")
    assert error.value.name.removeprefix(ERROR_PREFIX) in expected, error.value
    assert error.value.text
    assert time.monotonic() - started < 20
    assert client.get(handler, HANDLER, "State") == "failed"
    # The daemon keeps serving.
    assert client.get(MANAGER, "org.atvd.Manager1", "Discovering") is True
    client.atvd(handler, HANDLER, "Close")


def test_device_back_off_is_reported_with_its_delay(client, fake):
    fake("Busy Room", "fake-atv-0014", "AA:BB:CC:00:00:14", "--misbehave", "back-off",
         "--back-off", "42")
    path = client.find("fake-atv-0014")
    handler = client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
    with pytest.raises(BusError) as error:
        client.atvd(handler, HANDLER, "Begin")
    assert error.value.name == ERROR_PREFIX + "BackOff"
    assert "42" in error.value.text
    client.atvd(handler, HANDLER, "Close")
