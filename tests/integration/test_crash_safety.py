"""A killed daemon loses no committed credential, and a full disk loses nothing.

atvd is killed with SIGKILL at random moments while pairings, SetCredentials and RemoveDevice
calls run against fake Apple TVs. After every restart, each device's stored credentials must be
what the last acknowledged call left, or what the call in flight at the kill would have left;
every file must be whole, and the daemon must have loaded them all.
"""

import asyncio
import os
import queue
import random
import signal
import subprocess
import tempfile

import pytest
from dbus_next import Message, MessageType

from atvd_harness import (BUS_NAME, DEVICE, ERROR_PREFIX, HANDLER, MANAGER, SERVICE, BusError,
                          Client, Daemon, pair_with_pin, start_fakes)


OPERATIONS = 1000
DEVICES = 4
# Any well-formed credentials other than the ones held before: what a pairing leaves.
NEW_PAIRING = object()


def random_credentials(rng):
    return ":".join(rng.randbytes(n).hex() for n in (32, 32, 36, 36))


def well_formed(credentials):
    parts = credentials.split(":")
    return ([len(p) for p in parts] == [64, 64, 72, 72]
            and all(c in "0123456789abcdef" for c in credentials.replace(":", "")))


def stored_mrp_credentials(state_dir):
    """Every device's MRP credentials on disk; each file must be whole."""
    stored = {}
    for name in os.listdir(state_dir):
        if not name.endswith(".creds"):
            continue
        with open(os.path.join(state_dir, name)) as f:
            lines = f.read().splitlines()
        assert lines[0] == "atvd-credentials 1" and lines[-1] == "end", f"{name} is torn"
        device_id = next(line.split(" ", 1)[1] for line in lines if line.startswith("device-id "))
        mrp = [line.split(" ", 2)[2] for line in lines if line.startswith("credentials mrp ")]
        stored[device_id] = mrp[0] if mrp else None
    return stored


def drain(device):
    while True:
        try:
            device.lines.get_nowait()
        except queue.Empty:
            return


class Run:
    """One daemon life: a client and the devices it found."""

    def __init__(self, state_dir, identifiers):
        self.daemon = Daemon(state_dir=state_dir, log_level="info").start()
        self.client = Client()
        self.paths = {}
        for identifier in identifiers:
            self.find(identifier)

    def find(self, identifier):
        paths = self.client.scan(Identifiers=[identifier], timeout=10000)
        assert paths, f"{identifier} not found after a restart"
        # A device restored from the store is known at once; its services come with discovery.
        self.client.wait_for(lambda: paths[0] + "/mrp" in self.client.managed_objects(),
                             what=f"the MRP service of {identifier}")
        self.paths[identifier] = paths[0]
        return paths[0]

    def call_then_kill(self, rng, path, interface, member, signature, body):
        """Starts a call, kills the daemon a random moment later; the call's outcome."""
        message = Message(destination=BUS_NAME, path=path, interface=interface, member=member,
                          signature=signature, body=body)
        loop = self.client.loop
        call = loop.create_task(self.client.bus.call(message))
        loop.run_until_complete(asyncio.sleep(rng.uniform(0, 0.004)))
        self.daemon.process.send_signal(signal.SIGKILL)
        self.daemon.process.wait()
        reply = loop.run_until_complete(asyncio.wait_for(call, 10))
        self.daemon.stop()
        self.client.close()
        return reply.message_type != MessageType.ERROR

    def end(self):
        self.client.close()
        assert self.daemon.stop() == 0, self.daemon.output()


@pytest.fixture
def fakes():
    devices = start_fakes([(f"Crash Room {n}", f"fake-atv-09{n:02}", f"AA:BB:CC:00:09:{n:02}")
                           for n in range(DEVICES)])
    yield {f"fake-atv-09{n:02}": device for n, device in enumerate(devices)}
    for device in devices:
        device.stop()


def test_sigkill_at_random_moments_loses_no_committed_credential(fakes):
    seed = int(os.environ.get("ATVD_CRASH_SEED", random.randrange(1 << 32)))
    print(f"seed {seed} (set ATVD_CRASH_SEED to replay)")
    rng = random.Random(seed)
    state_dir = tempfile.mkdtemp(prefix="atvd-crash-")
    identifiers = sorted(fakes)
    # For each device: the values its MRP credentials may have on disk (None: none stored).
    allowed = {identifier: {None} for identifier in identifiers}
    done = kills = pairings = 0

    while done < OPERATIONS:
        run = Run(state_dir, identifiers)
        stored = stored_mrp_credentials(state_dir)
        assert not [n for n in os.listdir(state_dir) if n.startswith(".tmp-")]
        for identifier in identifiers:
            value = stored.get(identifier)
            acceptable = value in allowed[identifier] or (
                NEW_PAIRING in allowed[identifier] and value is not None and well_formed(value))
            assert acceptable, f"{identifier}: {value!r} after kill {kills} (seed {seed})"
            allowed[identifier] = {value}
            paired = run.client.get(run.paths[identifier] + "/mrp", SERVICE, "Paired")
            assert paired == (value is not None), f"{identifier} not loaded as stored"

        for _ in range(rng.randint(5, 40)):
            identifier = rng.choice(identifiers)
            path = run.paths[identifier]
            kind = rng.choices(["set", "remove", "pair"], weights=[70, 20, 10])[0]
            if kind == "set":
                value = random_credentials(rng)
                assert run.client.atvd(path, DEVICE, "SetCredentials", "ss",
                                       ["mrp", value]) == [True]
                allowed[identifier] = {value}
            elif kind == "remove":
                run.client.atvd(MANAGER, "org.atvd.Manager1", "RemoveDevice", "o", [path])
                allowed[identifier] = {None}
                run.find(identifier)
            else:
                drain(fakes[identifier])
                pair_with_pin(run.client, fakes[identifier], path)
                allowed[identifier] = {stored_mrp_credentials(state_dir)[identifier]}
                pairings += 1
            done += 1

        # The last call of this life is cut short by SIGKILL.
        identifier = rng.choice(identifiers)
        path = run.paths[identifier]
        if rng.random() < 0.8:
            value = random_credentials(rng)
            acknowledged = run.call_then_kill(rng, path, DEVICE, "SetCredentials", "ss",
                                              ["mrp", value])
            allowed[identifier] = {value} if acknowledged else allowed[identifier] | {value}
        else:
            acknowledged = run.call_then_kill(rng, MANAGER, "org.atvd.Manager1", "RemoveDevice",
                                              "o", [path])
            allowed[identifier] = {None} if acknowledged else allowed[identifier] | {None}
        done += 1
        kills += 1

    run = Run(state_dir, identifiers)
    run.end()
    print(f"{done} operations, {kills} kills, {pairings} pairings")
    assert kills >= 20 and pairings >= 10


def test_killed_during_pairing_keeps_earlier_credentials(fakes):
    state_dir = tempfile.mkdtemp(prefix="atvd-crash-")
    identifier = "fake-atv-0900"
    rng = random.Random(7)
    run = Run(state_dir, [identifier])
    value = random_credentials(rng)
    path = run.paths[identifier]
    assert run.client.atvd(path, DEVICE, "SetCredentials", "ss", ["mrp", value]) == [True]
    drain(fakes[identifier])
    handler = run.client.atvd(path, DEVICE, "Pair", "sa{sv}", ["mrp", {}])[0]
    run.client.atvd(handler, HANDLER, "Begin")
    run.client.atvd(handler, HANDLER, "Pin", "s", [fakes[identifier].pin()])
    run.call_then_kill(rng, handler, HANDLER, "Finish", "", [])
    after = stored_mrp_credentials(state_dir)[identifier]
    assert after == value or well_formed(after)

    run = Run(state_dir, [identifier])
    assert run.client.get(run.paths[identifier] + "/mrp", SERVICE, "Paired") is True
    run.end()


def test_full_disk_gives_a_clear_error_and_keeps_existing_files(fakes):
    mount_point = tempfile.mkdtemp(prefix="atvd-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mount_point],
                   check=True)
    try:
        identifiers = ["fake-atv-0900", "fake-atv-0901"]
        rng = random.Random(11)
        run = Run(mount_point, identifiers)
        first = random_credentials(rng)
        path = run.paths[identifiers[0]]
        assert run.client.atvd(path, DEVICE, "SetCredentials", "ss", ["mrp", first]) == [True]
        ballast = os.open(os.path.join(mount_point, "ballast"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(ballast, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(ballast)

        for identifier in identifiers:
            with pytest.raises(BusError) as error:
                run.client.atvd(run.paths[identifier], DEVICE, "SetCredentials", "ss",
                                ["mrp", random_credentials(rng)])
            assert error.value.name == ERROR_PREFIX + "InvalidState"
            assert "no space left" in error.value.text
        # The daemon keeps serving, and what was stored is intact.
        assert run.client.get(MANAGER, "org.atvd.Manager1", "Discovering") is True
        assert stored_mrp_credentials(mount_point) == {identifiers[0]: first}
        assert not [n for n in os.listdir(mount_point) if n.startswith(".tmp-")]
        run.end()

        os.remove(os.path.join(mount_point, "ballast"))
        run = Run(mount_point, identifiers)
        assert run.client.get(run.paths[identifiers[0]] + "/mrp", SERVICE, "Paired") is True
        assert run.client.get(run.paths[identifiers[1]] + "/mrp", SERVICE, "Paired") is False
        run.end()
    finally:
        subprocess.run(["umount", "-l", mount_point], check=False)
