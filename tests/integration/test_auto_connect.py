"""Staying connected: AutoConnect connects a paired device when it is present, reconnects after a
loss with back-off and at once when discovery sees the device again, survives atvd's restart,
stops on rejected credentials, is suspended by Close, notices a silent peer, and wakes a device
in deep sleep on Connect."""

import contextlib
import os
import subprocess
import tempfile
import time

import pytest

from atvd_harness import (DEVICE, MANAGER, BusError, Client, Daemon, FakeAppleTV,
                          LinkedNamespace, add_by_hand, credential_files, pair_with_pin, run_as)

ERROR = "org.atvd.Error."


def write_config(first_ms, max_ms):
    folder = tempfile.mkdtemp(prefix="atvd-conf-")
    path = os.path.join(folder, "atvd.conf")
    with open(path, "w") as config:
        config.write(f"reconnect-first-ms = {first_ms}\nreconnect-max-ms = {max_ms}\n")
    return path


# Without ASan's quarantine, memory that is freed shows in the resident size at once.
ASAN_ENV = {"ASAN_OPTIONS": ":".join(
    option for option in (os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0") if option)}


def start_daemon(first_ms=100, max_ms=400, state_dir=None):
    return Daemon(state_dir=state_dir, env=ASAN_ENV,
                  extra_args=["--config", write_config(first_ms, max_ms)]).start()


@pytest.fixture
def daemon(request):
    daemon = start_daemon(**getattr(request, "param", {}))
    yield daemon
    if getattr(request.node, "failed_in", None):
        print(f"--- atvd log ({daemon.log_path}) ---\n{daemon.output()[-20000:]}")
    assert daemon.stop() == 0, daemon.output()[-6000:]


def stored_text(state_dir):
    text = ""
    for path in credential_files(state_dir):
        with open(path) as stored:
            text += stored.read()
    return text


def state(client, path):
    return client.get(path, DEVICE, "ConnectionState")


def wait_state(client, path, wanted, timeout=15.0):
    client.wait_for(lambda: state(client, path) == wanted, timeout,
                    what=f"ConnectionState {wanted} (now {state(client, path)})")


def states(client, path, since=0):
    """Every ConnectionState atvd signalled for the device, in order."""
    seen = []
    for signal in client.signals_named("PropertiesChanged", path)[since:]:
        interface, changed = signal.body[0], signal.body[1]
        if interface == DEVICE and "ConnectionState" in changed:
            seen.append(changed["ConnectionState"].value)
    return seen


def signal_mark(client, path):
    return len(client.signals_named("PropertiesChanged", path))


def paired_device(client, fake, name, identifier, mac, *extra):
    device = fake(name, identifier, mac, *extra)
    path = client.find(identifier, "mrp")
    pair_with_pin(client, device, path)
    return device, path


def paired_then_restarted(client, fake, tmp_path, name, identifier, mac, *extra):
    """A device paired as it is, then started again on its port with its pairings and `extra`
    arguments: how a device turns difficult after the fact. Returns the new fake, the device's
    path, the fake's state file and its port."""
    state_file = str(tmp_path / "device.state")
    device, path = paired_device(client, fake, name, identifier, mac, "--state", state_file)
    port = device.port
    device.stop()
    again = fake(name, identifier, mac, "--state", state_file, "--mrp-port", str(port), *extra)
    return again, path, state_file, port


@contextlib.contextmanager
def after_restart(daemon, client, path, what):
    """atvd stopped and started again: a new client, once the device at `path` is back."""
    assert daemon.stop() == 0
    client.close()
    daemon.start()
    fresh = Client()
    try:
        fresh.wait_for(lambda: path in fresh.devices(), what=what)
        yield fresh
    finally:
        fresh.close()


def auto_connect(client, path, enable=True):
    client.atvd(path, DEVICE, "SetAutoConnect", "b", [enable])


def test_reconnects_after_the_device_restarts_on_the_same_port(client, fake, tmp_path):
    state_file = str(tmp_path / "device.state")
    device, path = paired_device(client, fake, "Steady Room", "fake-atv-a001",
                                 "AA:BB:CC:00:0A:01", "--state", state_file)
    assert state(client, path) == "disconnected"
    assert client.get(path, DEVICE, "AutoConnect") is False
    mark = signal_mark(client, path)

    auto_connect(client, path)
    wait_state(client, path, "connected")
    assert client.get(path, DEVICE, "AutoConnect") is True
    assert client.get(path, DEVICE, "Connected") is True
    assert client.get(path, DEVICE, "ConnectedProtocols") == ["mrp"]

    port = device.port
    device.stop()
    wait_state(client, path, "reconnecting")
    assert client.get(path, DEVICE, "Connected") is False
    assert client.signals_named("ConnectionLost", path)
    assert client.get(path, DEVICE, "ConnectionError") != ""

    fake("Steady Room", "fake-atv-a001", "AA:BB:CC:00:0A:01", "--state", state_file,
         "--mrp-port", str(port))
    wait_state(client, path, "connected")
    assert client.get(path, DEVICE, "Connected") is True
    assert client.get(path, DEVICE, "ConnectionError") == ""

    sequence = states(client, path, mark)
    assert sequence[:3] == ["connecting", "connected", "reconnecting"], sequence
    assert sequence[-2:] == ["connecting", "connected"], sequence
    assert set(sequence[3:-2]) <= {"connecting", "reconnecting"}, sequence


@pytest.mark.parametrize("daemon", [{"first_ms": 60000, "max_ms": 60000}], indirect=True)
def test_a_device_back_on_a_new_port_is_connected_at_once(client, fake, tmp_path):
    """With a minute's back-off, only discovery can bring the device back this soon."""
    state_file = str(tmp_path / "device.state")
    device, path = paired_device(client, fake, "Moving Room", "fake-atv-a002",
                                 "AA:BB:CC:00:0A:02", "--state", state_file)
    auto_connect(client, path)
    wait_state(client, path, "connected")
    old_port = device.port
    device.stop()
    wait_state(client, path, "reconnecting")

    moved = fake("Moving Room", "fake-atv-a002", "AA:BB:CC:00:0A:02", "--state", state_file)
    assert moved.port != old_port
    wait_state(client, path, "connected", timeout=10)
    assert client.get(f"{path}/mrp", "org.atvd.Service1", "Port") == moved.port


def test_atvd_restarted_connects_again_without_a_call(daemon, client, fake, tmp_path):
    state_file = str(tmp_path / "device.state")
    _, path = paired_device(client, fake, "Restart Room", "fake-atv-a003",
                            "AA:BB:CC:00:0A:03", "--state", state_file)
    auto_connect(client, path)
    wait_state(client, path, "connected")
    assert "\nauto-connect yes\n" in stored_text(daemon.state_dir)

    with after_restart(daemon, client, path, "the stored device") as fresh:
        wait_state(fresh, path, "connected")
        assert fresh.get(path, DEVICE, "AutoConnect") is True


def test_a_device_added_by_hand_comes_back_after_a_restart_and_connects(daemon, client, fake,
                                                                        tmp_path):
    """Discovery never sees it: where it is comes back from the state directory."""
    state_file = str(tmp_path / "device.state")
    device = fake("Manual Room", "fake-atv-a010", "AA:BB:CC:00:0A:10", "--no-publish",
                  "--state", state_file)
    path = add_by_hand(client, "127.0.0.1", "Manual Room", device.port, "fake-atv-a010")
    pair_with_pin(client, device, path)
    auto_connect(client, path)
    wait_state(client, path, "connected")
    stored = stored_text(daemon.state_dir)
    assert "\naddress 127.0.0.1\n" in stored
    assert f"\nservice mrp {device.port} fake-atv-a010\n" in stored

    with after_restart(daemon, client, path, "the device added by hand") as fresh:
        wait_state(fresh, path, "connected")
        assert fresh.get(path, DEVICE, "Manual") is True
        assert fresh.get(path, DEVICE, "Address") == "127.0.0.1"
        assert fresh.get(f"{path}/mrp", "org.atvd.Service1", "Port") == device.port
        # Removed, it stays removed: nothing is left to restore.
        fresh.atvd(MANAGER, "org.atvd.Manager1", "RemoveDevice", "o", [path])
        assert "fake-atv-a010" not in stored_text(daemon.state_dir)


def test_rejected_credentials_stop_the_retries_until_paired_again(client, fake, tmp_path):
    state_file = str(tmp_path / "device.state")
    device, path = paired_device(client, fake, "Amnesic Room", "fake-atv-a004",
                                 "AA:BB:CC:00:0A:04", "--state", state_file)
    auto_connect(client, path)
    wait_state(client, path, "connected")
    device.stop()
    # The same device, reset: it has forgotten every pairing.
    forgetful = fake("Amnesic Room", "fake-atv-a004", "AA:BB:CC:00:0A:04")
    client.wait_for(lambda: client.get(path, DEVICE, "ConnectionError")
                    .startswith("AuthenticationFailed: "), what="the rejection")
    wait_state(client, path, "disconnected")
    mark = signal_mark(client, path)
    client.pump(1.5)  # a dozen retries at this daemon's back-off, had they not stopped
    assert "connecting" not in states(client, path, mark)
    assert client.get(path, DEVICE, "AutoConnect") is True

    with pytest.raises(BusError) as refused:
        client.atvd(path, DEVICE, "Connect")
    assert refused.value.name == ERROR + "AuthenticationFailed"

    # A new pairing is what the device wants; AutoConnect takes it from there.
    pair_with_pin(client, forgetful, path)
    wait_state(client, path, "connected")


def test_a_device_that_asks_to_back_off_is_left_alone_that_long(client, fake, tmp_path):
    _, path, _, _ = paired_then_restarted(client, fake, tmp_path, "Busy Room", "fake-atv-a011",
                                          "AA:BB:CC:00:0A:11", "--misbehave", "verify-back-off",
                                          "--back-off", "3")
    client.wait_for(lambda: client.get(path, DEVICE, "Present") is True, what="the device back")
    mark = signal_mark(client, path)
    auto_connect(client, path)
    client.wait_for(lambda: client.get(path, DEVICE, "ConnectionError").startswith("BackOff: "),
                    what="the device's BackOff")
    refused = time.monotonic()
    wait_state(client, path, "reconnecting")
    attempts = states(client, path, mark).count("connecting")
    client.pump(2.0)  # this daemon's own back-off (100 ms doubling) would have tried again
    assert states(client, path, mark).count("connecting") == attempts
    client.wait_for(lambda: states(client, path, mark).count("connecting") > attempts,
                    timeout=5, what="the attempt after the device's 3 s")
    assert time.monotonic() - refused >= 2.5


def test_close_suspends_until_connect(daemon, client, fake, tmp_path):
    state_file = str(tmp_path / "device.state")
    device, path = paired_device(client, fake, "Quiet Room", "fake-atv-a005",
                                 "AA:BB:CC:00:0A:05", "--state", state_file)
    auto_connect(client, path)
    wait_state(client, path, "connected")
    client.atvd(path, DEVICE, "Close")
    assert state(client, path) == "disconnected"
    mark = signal_mark(client, path)
    client.pump(1.0)
    assert "connecting" not in states(client, path, mark)
    assert client.get(path, DEVICE, "AutoConnect") is True

    client.atvd(path, DEVICE, "Connect")
    assert state(client, path) == "connected"
    port = device.port
    device.stop()
    wait_state(client, path, "reconnecting")
    fake("Quiet Room", "fake-atv-a005", "AA:BB:CC:00:0A:05", "--state", state_file,
         "--mrp-port", str(port))
    wait_state(client, path, "connected")

    auto_connect(client, path, False)
    assert client.get(path, DEVICE, "AutoConnect") is False
    assert "auto-connect" not in stored_text(daemon.state_dir)
    assert "credentials mrp " in stored_text(daemon.state_dir)


def test_only_the_atvd_group_may_set_auto_connect(client, fake):
    fake("Guarded Room", "fake-atv-a006", "AA:BB:CC:00:0A:06")
    path = client.find("fake-atv-a006", "mrp")
    result = run_as("atvd-stranger", "busctl", "--system", "call", "org.atvd", path,
                    DEVICE, "SetAutoConnect", "b", "true")
    assert result.returncode != 0
    assert "Access denied" in result.stderr or "NotAuthorized" in result.stderr or \
        "not allowed" in result.stderr, result.stderr
    assert client.get(path, DEVICE, "AutoConnect") is False
    allowed = run_as("atvd-tester", "busctl", "--system", "call", "org.atvd", path,
                     DEVICE, "SetAutoConnect", "b", "true")
    assert allowed.returncode == 0, allowed.stderr
    assert client.get(path, DEVICE, "AutoConnect") is True


def test_connect_wakes_a_device_in_deep_sleep(client, fake):
    device, path = paired_device(client, fake, "Sleepy Room", "fake-atv-a007",
                                 "AA:BB:CC:00:0A:07")
    device.send("sleep")
    device.expect("SCRIPTED sleep")
    client.wait_for(lambda: client.get(path, DEVICE, "DeepSleep") is True, what="deep sleep")
    client.atvd(path, DEVICE, "Connect")
    device.expect("WOKEN", timeout=1)
    assert client.get(path, DEVICE, "DeepSleep") is False
    assert state(client, path) == "connected"
    assert client.get(f"{path}/mrp", "org.atvd.Service1", "Port") == device.port


def test_a_silent_peer_is_noticed_and_reconnected_when_the_link_returns(client):
    """The device's link goes down: no FIN, no RST, just silence. atvd notices within 30 s and
    connects again once the link is back."""
    link = LinkedNamespace(9)
    device = None
    try:
        device = FakeAppleTV("Cut Room", "fake-atv-a008", "AA:BB:CC:00:0A:08", "--no-publish",
                             "--bind", link.address,
                             prefix=link.inside)
        path = add_by_hand(client, link.address, "Cut Room", device.port, "fake-atv-a008",
                           "AA:BB:CC:00:0A:08")
        pair_with_pin(client, device, path)
        auto_connect(client, path)
        wait_state(client, path, "connected")

        link.cable(False)
        cut = time.monotonic()
        wait_state(client, path, "reconnecting", timeout=35)
        noticed = time.monotonic() - cut
        assert noticed <= 30, f"the silent peer took {noticed:.1f} s to notice"
        assert client.get(path, DEVICE, "Connected") is False
        assert client.signals_named("ConnectionLost", path)
        print(f"silent peer noticed after {noticed:.1f} s")

        link.cable(True)
        wait_state(client, path, "connected", timeout=20)
        assert client.get(path, DEVICE, "ConnectedProtocols") == ["mrp"]
    finally:
        if device:
            device.stop()
        link.close()


def resources(process):
    """Open file descriptors and resident KiB of a process."""
    descriptors = len(os.listdir(f"/proc/{process.pid}/fd"))
    with open(f"/proc/{process.pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return descriptors, rss


CYCLES = int(os.environ.get("ATVD_RECONNECT_CYCLES", "1000"))


@pytest.mark.timeout(540)
@pytest.mark.parametrize("daemon", [{"first_ms": 1, "max_ms": 4}], indirect=True)
def test_a_thousand_losses_leak_nothing_and_leave_no_stuck_state(daemon, client, fake, tmp_path):
    """A device that drops every connection at a random point, mid-handshake or after it."""
    flaky, path, state_file, port = paired_then_restarted(
        client, fake, tmp_path, "Flaky Room", "fake-atv-a009", "AA:BB:CC:00:0A:09",
        "--drop-within", "60")

    def attempts():
        return states(client, path).count("connecting")

    auto_connect(client, path)
    client.wait_for(lambda: attempts() >= 100, timeout=120, what="100 attempts")
    before = resources(daemon.process)
    client.wait_for(lambda: attempts() >= CYCLES, timeout=600, what=f"{CYCLES} attempts")
    after = resources(daemon.process)
    losses = len(client.signals_named("ConnectionLost", path))
    print(f"{attempts()} attempts, {losses} losses after a connection; "
          f"fds {before[0]} -> {after[0]}, RSS {before[1]} -> {after[1]} KiB")
    assert losses > 0, "no attempt got as far as a connection"
    # A descriptor may be open for the attempt under way; nothing more.
    assert after[0] <= before[0] + 2, (before, after)
    assert after[1] - before[1] <= 2048, (before, after)

    # Nothing stuck: the same device, steady again, is connected at once.
    flaky.stop()
    fake("Flaky Room", "fake-atv-a009", "AA:BB:CC:00:0A:09", "--state", state_file,
         "--mrp-port", str(port))
    wait_state(client, path, "connected", timeout=20)
    client.pump(0.5)
    assert state(client, path) == "connected"
    assert client.get(path, DEVICE, "Connected") is True


@pytest.mark.parametrize("daemon", [{"first_ms": 1, "max_ms": 4}], indirect=True)
def test_atvd_stopped_amid_attempts_and_losses_ends_cleanly(daemon, client, fake, tmp_path):
    """Whatever is under way when atvd stops (an attempt mid-handshake, a loss being handled, a
    wait between attempts) ends with it: exit status 0 and no report from the sanitizer."""
    _, path, _, _ = paired_then_restarted(
        client, fake, tmp_path, "Restless Room", "fake-atv-a012", "AA:BB:CC:00:0A:12",
        "--drop-within", "60")
    auto_connect(client, path)
    watcher = client
    try:
        for round_number in range(6):
            watcher.wait_for(lambda: "connecting" in states(watcher, path), timeout=20,
                             what="attempts under way")
            watcher.pump(0.2 + 0.15 * round_number)
            assert daemon.stop() == 0, daemon.output()[-6000:]
            if watcher is not client:
                watcher.close()
            daemon.start()
            watcher = Client()
            watcher.wait_for(lambda: path in watcher.devices(), what="the stored device")
    finally:
        if watcher is not client:
            watcher.close()
