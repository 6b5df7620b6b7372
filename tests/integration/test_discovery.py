"""Continuous discovery through a real avahi-daemon, observed through D-Bus only."""

import os
import subprocess
import time

import pytest
from dbus_next import Variant

from atvd_harness import (DEVICE, ERROR_PREFIX, MANAGER, SERVICE, BusError, Client,
                          publish_apple_tv_4k)


def wait_for_device(client, identifier, timeout=10):
    def find():
        for path, props in client.devices().items():
            if identifier in props["Identifiers"] and props["Present"]:
                return path
        return None
    return client.wait_for(find, timeout, f"device {identifier}")


def test_apple_tv_4k_is_one_device_with_four_services(client, publisher):
    publish_apple_tv_4k(publisher, name="Den", mac="AA:BB:CC:DD:EE:10",
                        mrp_id="11111111-2222-4333-8444-555555555510")
    path = wait_for_device(client, "11111111-2222-4333-8444-555555555510")
    assert path == "/org/atvd/devices/d_11111111_2222_4333_8444_555555555510"
    # Services arrive one by one; wait until all four are merged in.
    client.wait_for(lambda: len([p for p in client.managed_objects() if p.startswith(path + "/")]) == 4,
                    what="four services")
    client.wait_for(lambda: client.get(path, DEVICE, "Model") == "Gen4K", what="model")
    props = client.get_all(path, DEVICE)
    assert props["Identifier"] == "11111111-2222-4333-8444-555555555510"
    assert props["Name"] == "Den"
    assert props["Address"] == "127.0.0.1"
    assert props["MacAddress"] == "AA:BB:CC:DD:EE:10"
    assert props["ModelIdentifier"] == "AppleTV6,2"
    assert props["OperatingSystem"] == "tvos"
    assert props["Version"] == "13.3.1"
    assert props["BuildNumber"] == "17K795"
    assert props["Present"] is True
    assert props["Connected"] is False
    assert props["ConnectedProtocols"] == []
    assert props["Manual"] is False
    assert props["DeepSleep"] is False
    assert props["LastSeen"] > 0
    assert set(props["Identifiers"]) >= {"11111111-2222-4333-8444-555555555510",
                                        "AA:BB:CC:DD:EE:10", "AABBCCDDEE10"}

    services = {p.rsplit("/", 1)[1]: client.get_all(p, SERVICE)
                for p in client.managed_objects() if p.startswith(path + "/")}
    assert set(services) == {"mrp", "airplay", "companion", "raop"}
    assert services["mrp"]["Pairing"] == "optional"
    assert services["mrp"]["Port"] == 49152
    assert services["mrp"]["Enabled"] is True
    assert services["mrp"]["Paired"] is False
    assert services["mrp"]["Properties"]["UniqueIdentifier"] == "11111111-2222-4333-8444-555555555510"
    assert services["airplay"]["Pairing"] == "mandatory"      # sf/flags 0x244 has 0x200
    assert services["companion"]["Pairing"] == "mandatory"    # rpFl 0x36782 has 0x4000
    assert services["raop"]["Pairing"] == "mandatory"
    assert services["raop"]["Identifier"] == "AABBCCDDEE10"

    added = client.signals_named("InterfacesAdded", MANAGER)
    assert any(s.body[0] == path and DEVICE in s.body[1] for s in added)


def test_object_path_comes_from_mrp_whatever_the_announcement_order(client, publisher):
    """AirPlay resolved first must not give the device a MAC-based path that MRP then changes."""
    mac, mrp_id = "AA:BB:CC:DD:EE:11", "11111111-2222-4333-8444-555555555511"
    publisher.publish("Study", "_airplay._tcp", 7000, {
        "deviceid": mac, "features": "0x5A7FFFF7,0x1E", "flags": "0x244",
        "model": "AppleTV6,2", "osvers": "13.3.1", "pi": mrp_id.lower()})
    time.sleep(0.05)
    publisher.publish("Study", "_mediaremotetv._tcp", 49153, {
        "Name": "Study", "UniqueIdentifier": mrp_id, "macAddress": mac.lower(),
        "SystemBuildVersion": "17K795"})
    path = wait_for_device(client, mrp_id)
    assert path == "/org/atvd/devices/d_11111111_2222_4333_8444_555555555511"
    client.wait_for(lambda: path + "/airplay" in client.managed_objects(), what="AirPlay merged")
    added = [s.body[0] for s in client.signals_named("InterfacesAdded", MANAGER)
             if DEVICE in s.body[1]]
    assert added.count(path) == 1
    assert not any("AA_BB_CC_DD_EE_11" in p for p in added)


def test_tvos15_disables_mrp_and_apple_tv_3_speaks_dmap(client, publisher):
    publish_apple_tv_4k(publisher, name="Bedroom", mac="AA:BB:CC:DD:EE:20",
                        mrp_id="11111111-2222-4333-8444-555555555520", build="19J346")
    path = wait_for_device(client, "11111111-2222-4333-8444-555555555520")
    client.wait_for(lambda: client.get(path + "/mrp", SERVICE, "Enabled") is False,
                    what="MRP disabled on tvOS 15")
    assert client.get(path + "/mrp", SERVICE, "Pairing") == "not-needed"

    publisher.publish("0000000000000001", "_touch-able._tcp", 3689,
                      {"CtlN": "Kitchen", "DvSv": "2049", "DvTy": "AppleTV", "Ver": "131077"})
    publisher.publish("Kitchen", "_airplay._tcp", 7000,
                      {"deviceid": "AA:BB:CC:DD:EE:30", "model": "AppleTV3,2",
                       "features": "0x5A7FFFF7", "srcvers": "220.68", "vv": "1"})
    dmap_path = wait_for_device(client, "0000000000000001")
    client.wait_for(lambda: client.get(dmap_path, DEVICE, "Model") == "Gen3", what="Gen3")
    assert client.get(dmap_path, DEVICE, "OperatingSystem") == "legacy"
    assert client.get(dmap_path + "/dmap", SERVICE, "Pairing") == "mandatory"


def test_scan_filters(client, publisher):
    publish_apple_tv_4k(publisher, name="Office", mac="AA:BB:CC:DD:EE:40",
                        mrp_id="11111111-2222-4333-8444-555555555540")
    path = wait_for_device(client, "11111111-2222-4333-8444-555555555540")

    assert path in client.scan(timeout=100)
    assert client.scan(Identifiers=["AA:BB:CC:DD:EE:40"]) == [path]
    assert client.scan(Identifiers=["AABBCCDDEE40", "nothing"]) == [path]
    started = time.monotonic()
    assert client.scan(Identifiers=["no-such-device"], timeout=300) == []
    assert time.monotonic() - started < 2.0
    assert path in client.scan(Protocols=["mrp"], timeout=100)
    assert path not in client.scan(Protocols=["dmap"], timeout=100)

    with pytest.raises(BusError) as error:
        client.atvd(MANAGER, "org.atvd.Manager1", "Scan", "a{sv}",
                    [{"Colour": Variant("s", "blue")}])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    assert "Colour" in error.value.text
    with pytest.raises(BusError) as error:
        client.atvd(MANAGER, "org.atvd.Manager1", "Scan", "a{sv}",
                    [{"Timeout": Variant("s", "soon")}])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    assert "Timeout" in error.value.text
    with pytest.raises(BusError) as error:
        client.scan(Protocols=["telnet"])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"


def test_identifiers_scan_waits_for_a_device_to_appear(client, publisher):
    client.pump(3.5)
    publisher.publish("Late", "_mediaremotetv._tcp", 49160,
                      {"Name": "Late", "UniqueIdentifier": "late-device-0001",
                       "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
    # Discovery has run for longer than this Timeout, yet an Identifiers scan waits for a
    # match until its timeout.
    found = client.scan(Identifiers=["late-device-0001"], timeout=3000)
    assert len(found) == 1 and found[0].endswith("late_device_0001")


def test_vanished_device_turns_absent_then_goes(client, publisher):
    process = publisher.publish("Gone", "_mediaremotetv._tcp", 49170,
                                {"Name": "Gone", "UniqueIdentifier": "gone-device-0001",
                                 "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
    path = wait_for_device(client, "gone-device-0001")
    publisher.withdraw(process)
    client.wait_for(lambda: path not in client.devices(), timeout=10, what="removal")
    changed = [s for s in client.signals_named("PropertiesChanged", path)
               if "Present" in s.body[1] and s.body[1]["Present"].value is False]
    assert changed, "Present turned false before the object went"
    removed = client.signals_named("InterfacesRemoved", MANAGER)
    assert any(s.body[0] == path for s in removed)


def test_txt_change_is_reported(client, publisher):
    process = publisher.publish("Changing", "_mediaremotetv._tcp", 49180,
                                {"Name": "Changing", "UniqueIdentifier": "changing-0001",
                                 "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
    path = wait_for_device(client, "changing-0001")
    assert client.get(path + "/mrp", SERVICE, "Pairing") == "optional"
    publisher.withdraw(process)
    publisher.publish("Changing", "_mediaremotetv._tcp", 49181,
                      {"Name": "Changing", "UniqueIdentifier": "changing-0001",
                       "SystemBuildVersion": "17K795", "AllowPairing": "NO"})
    client.wait_for(lambda: path in client.devices() and
                    client.get(path + "/mrp", SERVICE, "Pairing") == "disabled",
                    what="pairing requirement change")
    assert client.get(path + "/mrp", SERVICE, "Port") == 49181


def test_avahi_restart(client, publisher):
    publisher.publish("Survivor", "_mediaremotetv._tcp", 49190,
                      {"Name": "Survivor", "UniqueIdentifier": "survivor-0001",
                       "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
    wait_for_device(client, "survivor-0001")
    assert client.get(MANAGER, "org.atvd.Manager1", "Discovering") is True
    publisher.withdraw_all()
    with open(os.environ["ATVD_AVAHI_PIDFILE"]) as pidfile:
        pid = int(pidfile.read().strip())
    os.kill(pid, 15)
    client.wait_for(lambda: client.get(MANAGER, "org.atvd.Manager1", "Discovering") is False,
                    what="Discovering false")
    subprocess.run(["sh", "-c", os.environ["ATVD_AVAHI_START"]], check=True)
    client.wait_for(lambda: client.get(MANAGER, "org.atvd.Manager1", "Discovering") is True,
                    timeout=15, what="Discovering true")
    publisher.publish("Survivor", "_mediaremotetv._tcp", 49190,
                      {"Name": "Survivor", "UniqueIdentifier": "survivor-0001",
                       "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
    wait_for_device(client, "survivor-0001", timeout=15)


def test_hostile_txt_records_do_not_hurt(client, publisher):
    publisher.publish("Hostile", "_mediaremotetv._tcp", 49200, {
        "Name": "Hostile", "UniqueIdentifier": "hostile-0001", "SystemBuildVersion": "17K795",
        "=novalue": None, "flag-without-value": None, "Name ": "x" * 200,
        "AllowPairing": "YES"})
    path = wait_for_device(client, "hostile-0001")
    props = client.get(path + "/mrp", SERVICE, "Properties")
    assert props["flag-without-value"] == ""
    assert "" not in props
    # A service flapping every 100 ms leaves no stale object behind.
    for _ in range(10):
        process = publisher.publish("Flapping", "_mediaremotetv._tcp", 49201,
                                    {"Name": "Flapping", "UniqueIdentifier": "flapping-0001",
                                     "SystemBuildVersion": "17K795"})
        client.pump(0.1)
        publisher.withdraw(process)
    client.wait_for(lambda: not any("flapping-0001" in p["Identifiers"]
                                    for p in client.devices().values()),
                    timeout=10, what="flapping device gone")
    assert client.get(path, DEVICE, "Present") is True


def test_manual_devices(client):
    add = lambda address, services: client.atvd(  # noqa: E731
        MANAGER, "org.atvd.Manager1", "AddDevice", "ssa(sqsa{ss}s)", [address, "Manual", services])
    with pytest.raises(BusError) as error:
        add("10.0.0.1", [])
    assert error.value.name == ERROR_PREFIX + "NoService"
    with pytest.raises(BusError) as error:
        add("10.0.0.1", [["mrp", 49152, "", {}, ""]])
    assert error.value.name == ERROR_PREFIX + "DeviceIdMissing"
    with pytest.raises(BusError) as error:
        add("not-an-address", [["mrp", 49152, "manual-0001", {}, ""]])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    with pytest.raises(BusError) as error:
        add("10.0.0.1", [["gopher", 70, "manual-0001", {}, ""]])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"
    with pytest.raises(BusError) as error:
        add("10.0.0.1", [["mrp", 0, "manual-0001", {}, ""]])
    assert error.value.name == ERROR_PREFIX + "InvalidArguments"

    path = add("10.0.0.1", [["mrp", 49152, "manual-0001", {"AllowPairing": "YES"}, ""]])[0]
    props = client.get_all(path, DEVICE)
    assert props["Manual"] is True
    assert props["Present"] is False
    assert props["Address"] == "10.0.0.1"
    assert client.get(path + "/mrp", SERVICE, "Pairing") == "optional"

    client.atvd(MANAGER, "org.atvd.Manager1", "RemoveDevice", "o", [path])
    assert path not in client.devices()
    with pytest.raises(BusError) as error:
        client.atvd(MANAGER, "org.atvd.Manager1", "RemoveDevice", "o", [path])
    assert error.value.name == ERROR_PREFIX + "NotFound"


def test_manager_properties(client):
    props = client.get_all(MANAGER, "org.atvd.Manager1")
    assert props["Version"]
    assert props["Discovering"] is True
    assert "mrp" in props["Protocols"]


def test_restart_keeps_nothing_stale(daemon, publisher):
    publisher.publish("Again", "_mediaremotetv._tcp", 49210,
                      {"Name": "Again", "UniqueIdentifier": "again-0001",
                       "SystemBuildVersion": "17K795", "AllowPairing": "YES"})
    client = Client()
    path = wait_for_device(client, "again-0001")
    client.close()
    assert daemon.stop() == 0
    daemon.start()
    client = Client()
    assert wait_for_device(client, "again-0001") == path
    client.close()


def test_homepod_mini(client, publisher):
    mac = "AA:BB:CC:DD:EE:50"
    publisher.publish("Kitchen Speaker", "_airplay._tcp", 7000, {
        "deviceid": mac, "model": "AudioAccessory5,1", "features": "0x4A7FDFD5,0xBC157FDE",
        "flags": "0x18644", "osvers": "17.1", "acl": "0"})
    publisher.publish(mac.replace(":", "") + "@Kitchen Speaker", "_raop._tcp", 7000, {
        "am": "AudioAccessory5,1", "ft": "0x4A7FDFD5,0xBC157FDE", "sf": "0x18644",
        "ov": "17.1", "et": "0,4", "tp": "UDP"})
    publisher.publish("Kitchen Speaker", "_companion-link._tcp", 49155, {
        "rpFl": "0x627B2", "rpMd": "AudioAccessory5,1", "rpMRtID": "homepod-companion-0001"})
    path = wait_for_device(client, mac)
    client.wait_for(lambda: len([p for p in client.managed_objects()
                                 if p.startswith(path + "/")]) == 3, what="three services")
    props = client.get_all(path, DEVICE)
    assert props["Model"] == "HomePodMini"
    assert props["OperatingSystem"] == "tvos"
    assert props["Version"] == "17.1"
    assert client.get(path + "/companion", SERVICE, "Pairing") == "unsupported"
    assert client.get(path + "/airplay", SERVICE, "Pairing") == "mandatory"  # flags bit 0x200
    assert path not in client.scan(Protocols=["mrp"], timeout=100)


def test_configuration_file(tmp_path, publisher):
    binary = os.environ["ATVD_BINARY"]
    bad = tmp_path / "bad.conf"
    bad.write_text("# settings\nlog-level = debug\ncolour = red\n")
    result = subprocess.run([binary, "--config", str(bad), "--version"], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert f"{bad}:3: unknown key 'colour'" in result.stderr

    state = tmp_path / "state"
    good = tmp_path / "atvd.conf"
    good.write_text(f"log-level = debug  # chatty\nvanish-grace-ms = 300\nstate-dir = {state}\n")
    log_path = tmp_path / "atvd.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "--system", "--config", str(good)],
                                   stdout=log, stderr=subprocess.STDOUT)
    # Wait for this process to own the name: a daemon of an earlier test may still hold it.
    deadline = time.monotonic() + 10
    while "running as org.atvd" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    process.terminate()
    process.wait(timeout=10)
    output = log_path.read_text()
    assert process.returncode == 0, output
    assert (state / "identity").exists()          # state-dir from the file
    assert "settings: log level debug, vanish grace 300 ms" in output  # from the file
