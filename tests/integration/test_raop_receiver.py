"""A real AirPlay 1 receiver (shairport-sync from Debian) is discovered with its properties,
and Connect keeps an RTSP session with it until Close."""

import os
import shutil
import subprocess
import tempfile

import pytest

CONFIG = """general = {
  name = "Shairport Test";
  port = 5100;
  mdns_backend = "avahi";
  output_backend = "dummy";
};
"""


@pytest.fixture
def shairport():
    binary = shutil.which("shairport-sync")
    if binary is None:
        pytest.fail("shairport-sync is not installed (tools/install-deps installs it)")
    folder = tempfile.mkdtemp(prefix="atvd-shairport-")
    config = os.path.join(folder, "shairport.conf")
    with open(config, "w") as f:
        f.write(CONFIG)
    process = subprocess.Popen([binary, "-c", config, "-u"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    yield process
    process.terminate()
    process.wait()
    shutil.rmtree(folder, ignore_errors=True)


def test_shairport_sync_is_a_raop_device(client, shairport):
    def find():
        for path, props in client.devices().items():
            if props["Name"] == "Shairport Test" and props["Present"]:
                return path
        return None
    path = client.wait_for(find, timeout=15, what="shairport-sync discovered")
    raop = client.get_all(path + "/raop", "org.atvd.Service1")
    assert raop["Port"] == 5100
    assert raop["Properties"]["am"] == "ShairportSync"
    assert len(raop["Identifier"]) == 12          # the MAC before '@', as hex
    assert raop["Pairing"] in ("not-needed", "mandatory", "unsupported")
    props = client.get_all(path, "org.atvd.Device1")
    assert props["Address"] == "127.0.0.1"
    assert raop["Identifier"] in props["Identifiers"]
    # Scanning for RAOP finds it; scanning for MRP does not.
    assert path in client.scan(Protocols=["raop"], timeout=100)
    assert path not in client.scan(Protocols=["mrp"], timeout=100)


def rtsp_connections(port):
    """Established TCP connections to the receiver's RTSP port."""
    result = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
                            capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_connect_keeps_an_rtsp_session_until_close(client, shairport):
    def find():
        for path, props in client.devices().items():
            if props["Name"] == "Shairport Test" and props["Present"]:
                return path
        return None
    path = client.wait_for(find, timeout=15, what="shairport-sync discovered")
    assert client.get(path + "/raop", "org.atvd.Service1", "Pairing") == "not-needed"
    assert rtsp_connections(5100) == []
    client.atvd(path, "org.atvd.Device1", "Connect")
    assert client.get(path, "org.atvd.Device1", "Connected") is True
    assert client.get(path, "org.atvd.Device1", "ConnectedProtocols") == ["raop"]
    # The session stays open after OPTIONS was answered.
    client.pump(1.0)
    assert len(rtsp_connections(5100)) == 1
    assert shairport.poll() is None
    client.atvd(path, "org.atvd.Device1", "Close")
    assert client.get(path, "org.atvd.Device1", "Connected") is False
    assert client.get(path, "org.atvd.Device1", "ConnectedProtocols") == []
    client.wait_for(lambda: rtsp_connections(5100) == [], timeout=5, what="RTSP connection closed")
    # Connecting again works: the receiver was left in a clean state.
    client.atvd(path, "org.atvd.Device1", "Connect")
    assert client.get(path, "org.atvd.Device1", "Connected") is True
    client.atvd(path, "org.atvd.Device1", "Close")
