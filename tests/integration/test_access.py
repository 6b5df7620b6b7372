"""Who may call what: every method of the API as a stranger and as a member of group atvd.

Run twice: on the shipped bus policy (dbus/org.atvd.conf), where the bus itself refuses a
stranger, and on a permissive bus, where atvd's own check is all that stands in the way. The
documented outcome (README, docs/dbus-api.md "Security"):

- reading properties, introspection, the object manager and Scan: everyone;
- Pair, Connect, Close, SetCredentials, AddDevice, RemoveDevice: root and group atvd;
- a pairing handler: only the user who called Pair (and root).
"""

import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

from atvd_harness import DEVICE, HANDLER, MANAGER, FakeAppleTV

STRANGER = "atvd-stranger"
TESTER = "atvd-tester"
BUS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
ATVD_DENIED = "org.atvd.Error.NotAuthorized"
MANAGER_IFACE = "org.atvd.Manager1"
FOREIGN_CREDENTIALS = ":".join(["11" * 32, "22" * 32, "33" * 36, "44" * 36])

# Every method of the org.atvd interfaces and who may call it.
RULES = {
    ("org.atvd.Manager1", "Scan"): "everyone",
    ("org.atvd.Manager1", "AddDevice"): "admin",
    ("org.atvd.Manager1", "RemoveDevice"): "admin",
    ("org.atvd.Device1", "Pair"): "admin",
    ("org.atvd.Device1", "Connect"): "admin",
    ("org.atvd.Device1", "Close"): "admin",
    ("org.atvd.Device1", "SetCredentials"): "admin",
    ("org.atvd.Device1", "SetAutoConnect"): "admin",
    ("org.atvd.PairingHandler1", "Begin"): "pairing user",
    ("org.atvd.PairingHandler1", "Pin"): "pairing user",
    ("org.atvd.PairingHandler1", "Finish"): "pairing user",
    ("org.atvd.PairingHandler1", "Close"): "pairing user",
    ("org.atvd.RemoteControl1", "Press"): "admin",
    ("org.atvd.RemoteControl1", "SetPosition"): "admin",
    ("org.atvd.RemoteControl1", "SetShuffle"): "admin",
    ("org.atvd.RemoteControl1", "SetRepeat"): "admin",
    ("org.atvd.Player1", "GetArtwork"): "admin",
    ("org.atvd.Audio1", "SetVolume"): "admin",
    ("org.atvd.Audio1", "VolumeUp"): "admin",
    ("org.atvd.Audio1", "VolumeDown"): "admin",
    ("org.atvd.Power1", "TurnOn"): "admin",
    ("org.atvd.Power1", "TurnOff"): "admin",
    ("org.atvd.Apps1", "ListApps"): "admin",
    ("org.atvd.Apps1", "Launch"): "admin",
    ("org.atvd.Apps1", "ListAccounts"): "admin",
    ("org.atvd.Apps1", "SwitchAccount"): "admin",
    ("org.atvd.Keyboard1", "GetText"): "admin",
    ("org.atvd.Keyboard1", "SetText"): "admin",
    ("org.atvd.Keyboard1", "AppendText"): "admin",
    ("org.atvd.Keyboard1", "ClearText"): "admin",
}


def api_methods():
    folder = os.path.join(os.path.dirname(__file__), "..", "..", "dbus")
    methods = set()
    for name in os.listdir(folder):
        if name.startswith("org.atvd.") and name.endswith("1.xml"):
            root = ElementTree.parse(os.path.join(folder, name)).getroot()
            for interface in root.iter("interface"):
                for method in interface.iter("method"):
                    methods.add((interface.get("name"), method.get("name")))
    return methods


def test_every_method_has_a_rule():
    methods = api_methods()
    assert methods, "no interface XML found"
    assert methods == set(RULES), "RULES must list exactly the methods of the API"


class As:
    """A long-lived client running as a local user."""

    def __init__(self, user):
        self.user = user
        self.process = subprocess.Popen(
            ["runuser", "-u", user, "--", "/usr/bin/python3",
             os.path.join(os.path.dirname(__file__), "access_client.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, path, interface, member, signature="", body=None):
        self.process.stdin.write(json.dumps([path, interface, member, signature, body or []]) +
                                 "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the client of {self.user} ended"
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(10)


@pytest.fixture(params=["shipped policy", "permissive bus"])
def policy(request):
    """The bus policy in force; the permissive one lets everyone send anything to org.atvd."""
    permissive = os.path.join(os.environ["ATVD_ENV_DIR"], "bus.d", "permissive.conf")
    if request.param == "permissive bus":
        with open(permissive, "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration '
                    '1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    '<busconfig><policy context="default">'
                    '<allow send_destination="org.atvd"/></policy></busconfig>\n')
    reload_bus()
    yield request.param
    if os.path.exists(permissive):
        os.remove(permissive)
        reload_bus()


def reload_bus():
    subprocess.run(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                    "org.freedesktop.DBus", "ReloadConfig"], check=True, capture_output=True)


@pytest.fixture
def users():
    clients = {STRANGER: As(STRANGER), TESTER: As(TESTER)}
    yield clients
    for client in clients.values():
        client.close()


def denied(policy):
    return BUS_DENIED if policy == "shipped policy" else ATVD_DENIED


def assert_ok(answer, what):
    assert "ok" in answer, f"{what}: {answer}"
    return answer["ok"]


def assert_denied(answer, policy, what):
    assert answer.get("error") == denied(policy), f"{what}: {answer}"


def test_access(daemon, client, policy, users):
    stranger, tester = users[STRANGER], users[TESTER]
    fake = FakeAppleTV("Access Room", "fake-atv-0301", "AA:BB:CC:00:03:01")
    try:
        run_access_checks(client, stranger, tester, fake, policy)
    finally:
        fake.stop()


def run_access_checks(client, stranger, tester, fake, policy):
    paths = client.scan(Identifiers=["fake-atv-0301"], timeout=10000)
    assert paths
    path = paths[0]

    # Open to everyone: Scan, the object manager, properties, introspection.
    for user in (stranger, tester):
        assert path in assert_ok(user.call(MANAGER, MANAGER_IFACE, "Scan", "a{sv}", [{}]),
                                 f"Scan as {user.user}")[0]
        assert path in assert_ok(user.call(MANAGER, "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects"), "GetManagedObjects")[0]
        props = assert_ok(user.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                    [DEVICE]), "GetAll")[0]
        assert props["Identifier"] == "fake-atv-0301"
        assert assert_ok(user.call(path + "/mrp", "org.freedesktop.DBus.Properties", "Get",
                                   "ss", ["org.atvd.Service1", "Paired"]), "Get")[0] is False
        assert "org.atvd.Device1" in assert_ok(
            user.call(path, "org.freedesktop.DBus.Introspectable", "Introspect"), "Introspect")[0]

    # The stranger is refused every admin method, and nothing changes.
    manual = ["127.0.0.1", "Manual Box", [["mrp", 49999, "manual-0301", {}, ""]]]
    attempts = [
        (MANAGER, MANAGER_IFACE, "AddDevice", "ssa(sqsa{ss}s)", manual),
        (MANAGER, MANAGER_IFACE, "RemoveDevice", "o", [path]),
        (path, DEVICE, "Pair", "sa{sv}", ["mrp", {}]),
        (path, DEVICE, "Connect", "", []),
        (path, DEVICE, "Close", "", []),
        (path, DEVICE, "SetCredentials", "ss", ["mrp", FOREIGN_CREDENTIALS]),
    ]
    for attempt in attempts:
        assert_denied(stranger.call(*attempt), policy, f"{attempt[2]} as a stranger")
    objects = client.managed_objects()
    assert path in objects and path + "/mrp/pairing" not in objects
    assert not any(p.endswith("manual_0301") for p in objects)
    assert client.get(path + "/mrp", "org.atvd.Service1", "Paired") is False

    # A member of group atvd pairs; the stranger cannot drive that user's handler.
    handler = assert_ok(tester.call(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}]), "Pair")[0]
    assert_ok(tester.call(handler, HANDLER, "Begin"), "Begin")
    pin = fake.pin()
    for member, signature, body in (("Begin", "", []), ("Pin", "s", [pin]), ("Finish", "", []),
                                    ("Close", "", [])):
        assert_denied(stranger.call(handler, HANDLER, member, signature, body), policy,
                      f"handler {member} as a stranger")
    assert client.get(handler, HANDLER, "State") == "begun"
    assert_ok(tester.call(handler, HANDLER, "Pin", "s", [pin]), "Pin")
    assert_ok(tester.call(handler, HANDLER, "Finish"), "Finish")
    assert client.get(path + "/mrp", "org.atvd.Service1", "Paired") is True
    assert_ok(tester.call(handler, HANDLER, "Close"), "handler Close")

    # Connect, Close, AddDevice, SetCredentials, RemoveDevice as a member of group atvd.
    assert_ok(tester.call(path, DEVICE, "Connect"), "Connect")
    assert client.get(path, DEVICE, "Connected") is True
    assert_denied(stranger.call(path, DEVICE, "Close"), policy, "Close of a connection")
    assert client.get(path, DEVICE, "Connected") is True
    assert_ok(tester.call(path, DEVICE, "Close"), "Close")
    assert client.get(path, DEVICE, "Connected") is False
    added = assert_ok(tester.call(MANAGER, MANAGER_IFACE, "AddDevice", "ssa(sqsa{ss}s)", manual),
                      "AddDevice")[0]
    assert assert_ok(tester.call(added, DEVICE, "SetCredentials", "ss",
                                 ["mrp", FOREIGN_CREDENTIALS]), "SetCredentials")[0] is True
    assert_denied(stranger.call(MANAGER, MANAGER_IFACE, "RemoveDevice", "o", [added]), policy,
                  "RemoveDevice of a manual device")
    assert_ok(tester.call(MANAGER, MANAGER_IFACE, "RemoveDevice", "o", [added]), "RemoveDevice")
    assert added not in client.managed_objects()
