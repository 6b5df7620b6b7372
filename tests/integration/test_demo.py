"""tools/demo as the README runs it, on an existing build (ATVD_BUILD_DIR) instead of a fresh one.

Two ways a newcomer meets it: on a machine whose system bus has an avahi-daemon (the demo then
gives atvd a private dbus-daemon of its own), and on one without (the demo runs itself inside
tests/env/isolated). Either way the demo device must be listed with its model and every
service, and Ctrl-C or SIGTERM must stop everything, quietly and completely.
"""

import os
import queue
import re
import signal
import subprocess
import threading
import time

import pytest

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(SOURCE_ROOT, "tools", "demo")
BUILD_DIR = os.path.dirname(os.path.dirname(os.environ["ATVD_BINARY"]))

# atvd's listing of a device: "+" when it appears, "~" when what it offers changes.
LISTING = re.compile(r"[+~] Demo Apple TV \((?P<model>[^)]*)\) at \S+ \[(?P<services>[^\]]*)\] "
                     r"/org/atvd/devices/\S+$")
ATVD_ERROR = re.compile(r"\S+ (error|critical) ")
NOT_CLEAN = ("wait:", "terminate called", "Traceback", "Sanitizer", "Killed")


def processes():
    """The processes alive in this test's PID namespace and the ones below it."""
    alive = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] not in "ZX":
            alive[int(entry)] = command
    return alive


class Demo:
    def __init__(self, env):
        self.lines = queue.Queue()
        self.output = []
        self.process = subprocess.Popen([DEMO], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def text(self):
        return "\n".join(self.output)

    def wait_for_listing(self, model, services, timeout=60):
        """Waits until atvd's latest listing of the demo device shows model and services."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the demo never listed the device as {model} with "
                                     f"{services}:\n{self.text()}")
            self.output.append(line)
            listing = LISTING.search(line)
            if (listing and listing["model"] == model
                    and set(listing["services"].split()) >= set(services)):
                return line

    def finish(self, timeout=30):
        self.process.wait(timeout)
        while True:
            try:
                self.output.append(self.lines.get(timeout=1))
            except queue.Empty:
                break
        return self.process.returncode


def demo_environment(isolated):
    env = dict(os.environ, ATVD_BUILD_DIR=BUILD_DIR)
    if isolated:
        # No system bus here: the demo has to make its own environment.
        env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent/system_bus_socket"
        # ... and one of its own, nested in this test's: not this one again.
        env.pop("ATVD_ENV_INSIDE", None)
    return env


@pytest.mark.parametrize("isolated", [False, True], ids=["system-avahi", "no-system-bus"])
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_demo_lists_the_demo_device_and_stops_cleanly(isolated, stop):
    before = processes()
    demo = Demo(demo_environment(isolated))
    try:
        demo.wait_for_listing("Gen4K", ["mrp", "airplay", "companion", "raop"])
        if stop == "ctrl-c":
            # What the terminal does on Ctrl-C: SIGINT to the whole foreground process group.
            os.killpg(demo.process.pid, signal.SIGINT)
        else:
            demo.process.send_signal(signal.SIGTERM)
        code = demo.finish()
    finally:
        if demo.process.poll() is None:
            os.killpg(demo.process.pid, signal.SIGKILL)
            demo.process.wait()
    output = demo.text()
    for line in output.splitlines():
        assert not any(mark in line for mark in NOT_CLEAN), f"not a clean stop:\n{output}"
        assert not ATVD_ERROR.match(line), f"atvd logged an error:\n{output}"
    assert code == 0, f"the demo exited with {code}:\n{output}"
    assert "a fake Apple TV 4K" in output, output
    state_dirs = re.findall(r"credentials in (/tmp/atvd-demo\.\w+)/state", output)
    assert state_dirs and not any(os.path.exists(folder) for folder in state_dirs), output

    # Whatever the demo started is gone once it has exited (a daemon may take a moment).
    deadline = time.monotonic() + 5
    while True:
        left = {pid: command for pid, command in processes().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"left behind: {left}\n{output}"
