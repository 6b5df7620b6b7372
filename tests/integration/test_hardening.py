"""atvd works under the restrictions of its unit, without systemd as PID 1.

The restrictions are read from the unit file meson installs and imposed the way systemd would
for each directive this test knows how to emulate: private mount and UTS namespaces, a
read-only file system except the state folder, a private /tmp, a minimal /dev, no home
folders, a /proc that shows only processes, the unit's user, umask, no capability at all (not
even in the bounding set), no new privileges, and a seccomp filter built from the unit's
system call groups (systemd-analyze syscall-filter), address families and
MemoryDenyWriteExecute. Directives that need systemd's BPF or cgroup machinery are listed with
the reason they are not emulated; a directive this test does not know fails it, so that
whoever adds one decides how it is checked.

The daemon then scans, pairs with, connects to and closes the fake Apple TV through D-Bus, and
afterwards nothing may exist in the writable places outside its state folder.
"""

import errno
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import queue


from atvd_harness import DEVICE, SERVICE, Client, FakeAppleTV, name_has_owner, pair_with_pin


# Each directive of [Service] and how this test honours it.
EMULATED = {
    "User", "Group", "StateDirectory", "StateDirectoryMode", "UMask", "CapabilityBoundingSet",
    "AmbientCapabilities", "NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectSystem",
    "ProtectHome", "ProtectHostname", "ProtectKernelTunables", "ProtectControlGroups",
    "ProtectProc", "ProcSubset", "SystemCallFilter", "SystemCallErrorNumber",
    "SystemCallArchitectures", "RestrictAddressFamilies", "MemoryDenyWriteExecute",
}
NOT_EMULATED = {
    # Seccomp rules on arguments systemd adds for these; the groups above already keep the
    # calls they guard (unshare, setns, sched_setscheduler, personality, ...) to EPERM or not.
    "RestrictNamespaces": "argument rules of seccomp", "RestrictRealtime": "argument rules",
    "RestrictSUIDSGID": "argument rules", "LockPersonality": "argument rules",
    "ProtectClock": "seccomp group @clock and device policy",
    "ProtectKernelModules": "seccomp and capability (covered: no capability at all)",
    "ProtectKernelLogs": "seccomp and /dev/kmsg (covered: minimal /dev)",
    # BPF and cgroup programs.
    "IPAddressDeny": "cgroup BPF", "IPAddressAllow": "cgroup BPF",
    "DevicePolicy": "cgroup device controller (covered: minimal /dev)",
    # Namespaces and session plumbing that need more than this test can set up.
    "PrivateUsers": "user namespace mapping", "KeyringMode": "session keyring",
    "RemoveIPC": "acts when the unit stops",
}
NOT_RESTRICTIONS = {"Type", "BusName", "ExecStart", "ExecReload", "Restart", "RestartSec"}


def unit_path():
    return os.environ.get("ATVD_UNIT") or os.path.join(
        os.path.dirname(__file__), "..", "..", "systemd", "atvd.service.in")


def read_unit():
    """[Service] of the unit as {directive: [values in order]}."""
    service = {}
    section = None
    with open(unit_path()) as unit:
        for line in unit:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Service":
                key, _, value = line.partition("=")
                service.setdefault(key.strip(), []).append(value.strip())
    return service


def last(unit, key, default=None):
    return unit[key][-1] if key in unit else default


def test_every_directive_is_considered():
    unknown = set(read_unit()) - EMULATED - set(NOT_EMULATED) - NOT_RESTRICTIONS
    assert not unknown, f"decide how the hardening test honours {sorted(unknown)}"


def syscall_group(name):
    """The system calls of a systemd group such as @system-service, nested groups expanded."""
    listing = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    calls = set()
    for line in listing[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        calls |= syscall_group(item) if item.startswith("@") else {item}
    return calls


def syscall_names(value):
    names = set()
    for item in value.lstrip("~").split():
        names |= syscall_group(item) if item.startswith("@") else {item}
    return names


def seccomp_spec(unit):
    """What seccomp_exec.py imposes, worked out from the unit as systemd does: the first
    SystemCallFilter= without ~ is the allow-list, each ~ line takes calls out of it."""
    allowed = None
    for value in unit.get("SystemCallFilter", []):
        if value.startswith("~"):
            assert allowed is not None, "a deny-list alone is not emulated"
            allowed -= syscall_names(value)
        elif allowed is None:
            allowed = syscall_names(value)
        else:
            allowed |= syscall_names(value)
    assert allowed and "execve" in allowed
    assert last(unit, "SystemCallArchitectures") == "native"  # libseccomp's default
    families = None
    if "RestrictAddressFamilies" in unit:
        families = [getattr(socket, name) for name in last(unit, "RestrictAddressFamilies").split()]
    with open(os.environ["ATVD_BINARY"], "rb") as binary:
        if b"libasan.so" in binary.read():
            # -Dsanitizers=true: LeakSanitizer stops the threads with ptrace to look for leaks
            # at exit. The real unit never runs such a build.
            allowed.add("ptrace")
    return {
        "allow": sorted(allowed),
        "errno": getattr(errno, last(unit, "SystemCallErrorNumber", "EPERM")),
        "families": families,
        "deny_write_execute": last(unit, "MemoryDenyWriteExecute") == "yes",
    }


def restricted_script(unit, state_dir):
    """A shell script, run as root in new mount and UTS namespaces, that imposes the unit's
    restrictions and runs atvd under them; it prints ATVD_PID, then what atvd left behind."""
    assert last(unit, "ProtectSystem") == "strict"
    assert last(unit, "PrivateTmp") == "yes"
    assert last(unit, "PrivateDevices") == "yes"
    assert last(unit, "ProtectHome") == "yes"
    assert last(unit, "ProtectProc") == "invisible" and last(unit, "ProcSubset") == "pid"
    assert last(unit, "NoNewPrivileges") == "yes"
    assert last(unit, "CapabilityBoundingSet") == "" and last(unit, "AmbientCapabilities") == ""
    user = last(unit, "User")
    group = last(unit, "Group", user)
    state = "/var/lib/" + last(unit, "StateDirectory")
    umask = last(unit, "UMask", "0022")
    loader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seccomp_exec.py")
    return f"""
set -eu
mount --make-rprivate /
hostname atvd-hardened                                   # ProtectHostname: our own UTS name
# StateDirectory: the one writable folder, where systemd would put it.
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir {state}
mount --bind {state_dir} {state}
# The program and the loader, from wherever this checkout lies (/tmp and homes included, which
# are hidden below), at a path of their own as /usr/sbin/atvd would be.
mkdir /var/lib/.bin
touch /var/lib/.bin/atvd /var/lib/.bin/seccomp_exec.py
mount --bind "$ATVD_BINARY" /var/lib/.bin/atvd
mount --bind {loader} /var/lib/.bin/seccomp_exec.py
# PrivateTmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
# PrivateDevices: a /dev with the pseudo devices only, built aside in our own /var/lib.
dev=/var/lib/.dev
mkdir $dev
mount -t tmpfs -o mode=0755 tmpfs $dev
for node in null zero full random urandom tty; do
    touch $dev/$node
    mount --bind /dev/$node $dev/$node
done
mkdir $dev/shm && chmod 1777 $dev/shm
mount --move $dev /dev
# ProtectHome
for home in /home /root /run/user; do
    [ -d $home ] && mount -t tmpfs -o ro,mode=0000 tmpfs $home
done
# ProtectProc=invisible, ProcSubset=pid
mount -t proc -o hidepid=invisible,subset=pid proc /proc
# ProtectSystem=strict (ProtectKernelTunables, ProtectControlGroups): everything read-only
# but the state folder, the private temporary folders and /dev.
awk '{{print $5}}' /proc/self/mountinfo | sort -u | while read -r point; do
    case "$point" in
        {state}|/tmp|/var/tmp|/dev|/dev/*|/proc) ;;
        *) mount -o remount,bind,ro "$point" 2>/dev/null || true ;;
    esac
done
findmnt -n -o OPTIONS / | grep -q '^ro'
umask {umask}
STATE_DIRECTORY={state} setpriv --reuid {user} --regid {group} --init-groups \\
    --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- \\
    /usr/bin/python3 /var/lib/.bin/seccomp_exec.py '{json.dumps(seccomp_spec(unit))}' \\
    /var/lib/.bin/atvd --system --log-level debug --vanish-grace 1500 &
echo "ATVD_PID $!"
status=0
wait $! || status=$?
echo "ATVD_EXIT $status"
find /tmp /var/tmp /dev/shm -mindepth 1 -printf 'LEFT %p\\n'
"""


class Restricted:
    def __init__(self, unit, state_dir, log):
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c",
             restricted_script(unit, state_dir)],
            stdout=subprocess.PIPE, stderr=log, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pid = int(self.expect("ATVD_PID ").split()[1])

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, prefix, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"the restricted atvd ended before '{prefix}'")
            if line.startswith(prefix):
                return line

    def rest(self):
        self.process.wait(15)
        lines = []
        while True:
            line = self.lines.get(timeout=5)
            if line is None:
                return lines
            lines.append(line)


def status_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_scan_pair_connect_close_under_the_unit(tmp_path):
    unit = read_unit()
    user = last(unit, "User")
    uid = int(subprocess.run(["id", "-u", user], capture_output=True, text=True,
                             check=True).stdout)
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    gid = int(subprocess.run(["id", "-g", user], capture_output=True, text=True,
                             check=True).stdout)
    os.chown(state_dir, uid, gid)
    os.chmod(state_dir, int(last(unit, "StateDirectoryMode", "0755"), 8))
    log_path = tmp_path / "atvd.log"
    fake = FakeAppleTV("Hardened Room", "fake-atv-0201", "AA:BB:CC:00:02:01")
    with open(log_path, "wb") as log:
        restricted = Restricted(unit, str(state_dir), log)
    client = None
    try:
        deadline = time.monotonic() + 10
        while not name_has_owner("org.atvd"):
            assert restricted.process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "atvd did not take its name:\n" + \
                log_path.read_text()
            time.sleep(0.05)

        # The process really runs as the unit says.
        status = status_of(restricted.pid)
        assert status["Uid"].split()[0] == str(uid)
        for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[capabilities], 16) == 0, f"{capabilities} {status[capabilities]}"
        assert status["NoNewPrivs"] == "1"
        assert status["Seccomp"] == "2"  # filtered

        client = Client()
        path = client.find("fake-atv-0201")
        pair_with_pin(client, fake, path, name="hardened")
        assert client.get(path + "/mrp", SERVICE, "Paired") is True
        client.atvd(path, DEVICE, "Connect")
        assert client.get(path, DEVICE, "Connected") is True
        client.atvd(path, DEVICE, "Close")
        assert client.get(path, DEVICE, "Connected") is False
    finally:
        if client:
            client.close()
        fake.stop()
        if restricted.process.poll() is None:
            os.kill(restricted.pid, signal.SIGTERM)
    rest = restricted.rest()
    output = log_path.read_text(errors="replace")
    assert "ATVD_EXIT 0" in rest, output
    # Nothing written in the writable places outside the state folder.
    assert [line for line in rest if line.startswith("LEFT ")] == []
    # What it did write, it wrote with the unit's umask, as its user.
    names = sorted(os.listdir(state_dir))
    assert "identity" in names and any(name.endswith(".creds") for name in names), names
    for name in names:
        info = os.stat(state_dir / name)
        assert info.st_uid == uid, name
        assert info.st_mode & 0o077 == 0, f"{name} {oct(info.st_mode)}"
    # And it never tripped over a restriction.
    for problem in ("Read-only file system", "Permission denied", "Operation not permitted"):
        assert problem not in output, output
    assert not re.search(r"^\S+ (warning|error|critical) ", output, re.MULTILINE), output
