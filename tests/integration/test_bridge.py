"""The example bridge (examples/bridge.py, dbus-next) against atvd and the fake Apple TV."""

import os
import subprocess
import sys

from atvd_harness import FakeAppleTV

BRIDGE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "bridge.py")


def run_bridge(identifier, stdin_text):
    return subprocess.run([sys.executable, BRIDGE, identifier], input=stdin_text,
                          capture_output=True, text=True, timeout=60)


def test_bridge_scans_pairs_connects_and_closes(daemon, client):
    fake = FakeAppleTV("Bridge Room", "bridge-0001", "AA:BB:CC:00:0B:02")
    try:
        # The PIN appears only once Begin ran: feed it through a pipe as the fake prints it.
        process = subprocess.Popen([sys.executable, BRIDGE, "bridge-0001"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        process.stdin.write(fake.pin() + "\n")
        process.stdin.flush()
        output, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors
        assert "bridge: paired" in output
        assert "bridge: connected with mrp" in output
        assert "bridge: closed" in output

        # Paired now: a second run connects without asking.
        again = run_bridge("bridge-0001", "")
        assert again.returncode == 0, again.stderr
        assert "paired" not in again.stdout
        assert "connected with mrp" in again.stdout
    finally:
        fake.stop()


def test_bridge_reports_atvd_errors(daemon, client):
    result = run_bridge("no-such-device", "")
    assert result.returncode == 1
    assert "no device answers" in result.stderr
