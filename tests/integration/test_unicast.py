"""Scan(Hosts=...): unicast DNS-SD to a host in another network namespace, answered by a real
avahi-daemon running there."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

NAMESPACE = "atvd-remote-host"
HOST_ADDRESS = "10.77.0.2"
LOCAL_ADDRESS = "10.77.0.1"

SERVICE_GROUP = """<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Remote Room</name>
  <service>
    <type>_mediaremotetv._tcp</type>
    <port>49152</port>
    <txt-record>Name=Remote Room</txt-record>
    <txt-record>UniqueIdentifier=remote-room-0001</txt-record>
    <txt-record>SystemBuildVersion=17K795</txt-record>
    <txt-record>AllowPairing=YES</txt-record>
    <txt-record>macAddress=aa:bb:cc:dd:ee:77</txt-record>
  </service>
  <service>
    <type>_airplay._tcp</type>
    <port>7000</port>
    <txt-record>deviceid=AA:BB:CC:DD:EE:77</txt-record>
    <txt-record>model=AppleTV6,2</txt-record>
    <txt-record>features=0x5A7FFFF7,0x1E</txt-record>
    <txt-record>flags=0x244</txt-record>
    <txt-record>osvers=13.3.1</txt-record>
  </service>
</service-group>
"""

AVAHI_CONF = """[server]
host-name=remote-host
use-ipv4=yes
use-ipv6=no
allow-interfaces=veth-remote
enable-dbus=no
ratelimit-interval-usec=0
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[rlimits]
"""


def run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


@pytest.fixture
def remote_host():
    folder = tempfile.mkdtemp(prefix="atvd-remote-")
    services = os.path.join(folder, "services")
    os.mkdir(services)
    with open(os.path.join(services, "remote.service"), "w") as f:
        f.write(SERVICE_GROUP)
    with open(os.path.join(folder, "avahi.conf"), "w") as f:
        f.write(AVAHI_CONF)
    run("ip", "netns", "del", NAMESPACE, check=False)
    run("ip", "netns", "add", NAMESPACE)
    run("ip", "link", "add", "veth-local", "type", "veth", "peer", "name", "veth-remote")
    run("ip", "link", "set", "veth-remote", "netns", NAMESPACE)
    run("ip", "addr", "add", f"{LOCAL_ADDRESS}/24", "dev", "veth-local")
    run("ip", "link", "set", "veth-local", "up")
    script = (
        f"ip addr add {HOST_ADDRESS}/24 dev veth-remote && ip link set veth-remote up && "
        "ip link set lo up && mount -t tmpfs tmpfs /run/avahi-daemon && "
        f"mount --bind {services} /etc/avahi/services && "
        f"exec avahi-daemon -f {folder}/avahi.conf --no-drop-root --no-chroot --no-rlimits")
    avahi = subprocess.Popen(["ip", "netns", "exec", NAMESPACE, "sh", "-c", script],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)  # probing of the host name and services
    yield HOST_ADDRESS
    avahi.terminate()
    avahi.wait()
    run("ip", "link", "del", "veth-local", check=False)
    run("ip", "netns", "del", NAMESPACE, check=False)
    shutil.rmtree(folder, ignore_errors=True)


def test_unicast_scan_of_a_host(client, remote_host):
    started = time.monotonic()
    found = client.scan(Hosts=[remote_host], timeout=4000)
    elapsed = time.monotonic() - started
    assert len(found) == 1, found
    path = found[0]
    props = client.get_all(path, "org.atvd.Device1")
    assert props["Name"] == "Remote Room"
    assert props["Address"] == remote_host
    assert "remote-room-0001" in props["Identifiers"]
    assert "AA:BB:CC:DD:EE:77" in props["Identifiers"]
    assert client.get(path + "/mrp", "org.atvd.Service1", "Port") == 49152
    # A responsive host answers long before the timeout.
    assert elapsed < 3.0, f"unicast scan took {elapsed:.2f} s"

    # Restricted to AirPlay, a new device gets only AirPlay; known devices keep the rest.
    assert client.scan(Hosts=[remote_host], Protocols=["airplay"], timeout=4000) == [path]
    assert client.scan(Hosts=[remote_host], Identifiers=["remote-room-0001"], timeout=4000) == [path]


def test_unicast_scan_of_a_silent_host(client):
    started = time.monotonic()
    assert client.scan(Hosts=["127.0.0.9"], timeout=700) == []
    assert time.monotonic() - started < 5.0
