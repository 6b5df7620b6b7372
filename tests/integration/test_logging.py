"""atvd's logging: structured entries in a real journal, and SIGHUP changing settings.

A real systemd-journald runs in this test's private mount namespace (tests/env/isolated):
no systemd as PID 1 is needed, only its sockets under /run/systemd/journal.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from atvd_harness import (DEVICE, Client, FakeAppleTV, name_has_owner, pair_with_pin,
                          publish_apple_tv_4k, stored_secrets)

JOURNALD = "/lib/systemd/systemd-journald"
JOURNAL_SOCKET = "/run/systemd/journal/socket"


@pytest.fixture
def journal():
    """A systemd-journald of this test alone, with empty runtime storage."""
    # Only runtime storage, and the machine's own journal folders hidden from this one.
    folders = ["/run/systemd", "/run/log"]
    if os.path.isdir("/var/log/journal"):
        folders.append("/var/log/journal")
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", folder], check=True)
    os.makedirs("/run/systemd/journal")
    process = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(JOURNAL_SOCKET):
        assert process.poll() is None, "systemd-journald exited"
        assert time.monotonic() < deadline, "systemd-journald made no socket"
        time.sleep(0.02)
    yield process
    process.terminate()
    process.wait(10)
    for folder in reversed(folders):
        subprocess.run(["umount", folder], check=True)


def journal_entries(**match):
    """Every entry so far, as dicts, optionally only those with the given field values."""
    args = ["journalctl", "-D", "/run/log/journal", "-o", "json", "--no-pager"]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    entries = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [e for e in entries if all(e.get(k) == v for k, v in match.items())]


def values(entry, field):
    """A journal field's values: journalctl's JSON gives a list when a field repeats."""
    value = entry.get(field)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wait_for_entry(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in journal_entries() if predicate(e)]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no journal entry {what}")


def start_atvd(args, stderr=None, prefix=()):
    process = subprocess.Popen([*prefix, os.environ["ATVD_BINARY"], "--system", *args],
                               stdout=subprocess.DEVNULL, stderr=stderr or subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not name_has_owner("org.atvd"):
        assert process.poll() is None, f"atvd exited with {process.returncode}"
        assert time.monotonic() < deadline, "atvd did not take its bus name"
        time.sleep(0.02)
    return process


def stop_atvd(process):
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def pair_connect_close(client, fake, identifier):
    path = client.find(identifier)
    pair_with_pin(client, fake, path, name="t")
    client.atvd(path, DEVICE, "Connect")
    client.atvd(path, DEVICE, "Close")
    return path


def test_device_lines_carry_structured_fields(journal, tmp_path):
    state = tmp_path / "state"
    config = tmp_path / "atvd.conf"
    config.write_text(f"log-level = trace\nlog-target = journal\nstate-dir = {state}\n")
    atvd = start_atvd(["--config", str(config)])
    fake = FakeAppleTV("Journal Room", "fake-atv-0101", "AA:BB:CC:00:01:01")
    client = Client()
    try:
        path = pair_connect_close(client, fake, "fake-atv-0101")
        identifier = client.get(path, DEVICE, "Identifier")
    finally:
        client.close()
        fake.stop()
    stop_atvd(atvd)
    wait_for_entry(lambda e: "shutting down" in e.get("MESSAGE", ""), "saying atvd stops")

    entries = journal_entries(SYSLOG_IDENTIFIER="atvd")
    about = [e for e in entries if identifier in values(e, "ATVD_DEVICE")]
    messages = [e["MESSAGE"] for e in about]
    for expected in ("pairing mrp with", "credentials for mrp of", "connected to",
                     "connection to Journal Room"):
        matching = [e for e in about if e["MESSAGE"].startswith(expected)]
        assert matching, f"no entry '{expected}...' with ATVD_DEVICE in {messages}"
        entry = matching[0]
        assert values(entry, "ATVD_PROTOCOL") == ["mrp"], entry
        assert entry["PRIORITY"] == "6"
        assert entry["CODE_FILE"].endswith("device_object.cpp")
        assert int(entry["CODE_LINE"]) > 0
        assert entry["_TRANSPORT"] == "journal"
    appeared = [e for e in about if e["MESSAGE"].startswith("+ Journal Room")]
    assert appeared and "mrp" in values(appeared[0], "ATVD_PROTOCOL")
    # Lines that are not about a device have no device fields, and the level is honoured.
    started = [e for e in entries if "running as org.atvd" in e["MESSAGE"]]
    assert started and "ATVD_DEVICE" not in started[0]
    assert any(e["PRIORITY"] == "7" for e in entries), "no debug entry at log-level trace"
    # No secret in any entry, at the most verbose level.
    secrets = stored_secrets(str(state))
    assert secrets
    everything = json.dumps(journal_entries())
    for secret in secrets:
        assert secret not in everything


def test_journal_chosen_when_stderr_is_the_journal_stream(journal, tmp_path):
    # systemd-cat connects stderr to journald's stream socket like a unit's StandardError=journal;
    # JOURNAL_STREAM is set to that socket's device and inode as systemd does.
    config = tmp_path / "atvd.conf"
    config.write_text(f"state-dir = {tmp_path / 'state'}\n")
    wrapper = ['systemd-cat', '-t', 'atvd-stream', 'sh', '-c',
               'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"', 'sh']
    atvd = start_atvd(["--config", str(config)], prefix=wrapper)
    stop_atvd(atvd)
    started = wait_for_entry(lambda e: "running as org.atvd" in e.get("MESSAGE", ""),
                             "saying atvd runs")
    assert started[0]["_TRANSPORT"] == "journal"      # native entries, not stream lines
    assert started[0]["SYSLOG_IDENTIFIER"] == "atvd"
    assert not journal_entries(SYSLOG_IDENTIFIER="atvd-stream")

    # The same variable with stderr redirected elsewhere: plain lines on stderr.
    log = tmp_path / "stderr.log"
    with open(log, "wb") as out:
        wrapper = ['sh', '-c', 'JOURNAL_STREAM=$(stat -L -c %d:%i /run/systemd/journal/stdout) '
                   'exec "$@"', 'sh']
        atvd = start_atvd(["--config", str(config)], stderr=out, prefix=wrapper)
        stop_atvd(atvd)
    assert "running as org.atvd" in log.read_text()


def read_log(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_in_log(path, text, after=0, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = read_log(path)[after:]
        if text in content:
            return
        time.sleep(0.05)
    raise AssertionError(f"'{text}' not logged:\n{read_log(path)}")


DEBUG_LINE = re.compile(r"^\S+ debug ", re.MULTILINE)


def test_sighup_rereads_the_configuration(tmp_path, publisher):
    state = tmp_path / "state"
    config = tmp_path / "atvd.conf"
    config.write_text(f"log-level = info\nlog-target = stderr\nvanish-grace-ms = 600000\n"
                      f"state-dir = {state}\n")
    log = tmp_path / "atvd.log"
    with open(log, "wb") as out:
        atvd = start_atvd(["--config", str(config)], stderr=out)
    client = Client()
    try:
        publish_apple_tv_4k(publisher, name="Before Room", mac="AA:BB:CC:00:02:01",
                            mrp_id="before-0201")
        assert client.scan(Identifiers=["before-0201"], timeout=10000)
        assert not DEBUG_LINE.search(read_log(log)), "debug lines at log-level info"

        # Debug and a short vanish grace, read on SIGHUP.
        config.write_text(f"log-level = debug\nlog-target = stderr\nvanish-grace-ms = 200\n"
                          f"state-dir = {state}\n")
        mark = len(read_log(log))
        atvd.send_signal(signal.SIGHUP)
        wait_in_log(log, "configuration reloaded from", after=mark)
        publish_apple_tv_4k(publisher, name="After Room", mac="AA:BB:CC:00:02:02",
                                 mrp_id="after-0202")
        paths = client.scan(Identifiers=["after-0202"], timeout=10000)
        assert paths
        assert DEBUG_LINE.search(read_log(log)[mark:]), "no debug line after the reload"
        # The new vanish grace applies: gone in well under the old ten minutes.
        publisher.withdraw_all()
        client.wait_for(lambda: paths[0] not in client.managed_objects(), timeout=15,
                        what="device removed after the reloaded vanish grace")

        # A malformed file keeps every current setting and says why.
        config.write_text("log-level = loud\n")
        mark = len(read_log(log))
        atvd.send_signal(signal.SIGHUP)
        wait_in_log(log, "configuration not reloaded, keeping the current settings", after=mark)
        assert f"{config}:1: unknown log level 'loud'" in read_log(log)[mark:]
        publish_apple_tv_4k(publisher, name="Still Debug Room", mac="AA:BB:CC:00:02:03",
                            mrp_id="still-0203")
        assert client.scan(Identifiers=["still-0203"], timeout=10000)
        assert DEBUG_LINE.search(read_log(log)[mark:]), "debug level lost on a refused reload"
        assert atvd.poll() is None

        # Back to info: debug lines stop.
        config.write_text(f"log-level = info\nstate-dir = {state}\n")
        atvd.send_signal(signal.SIGHUP)
        wait_in_log(log, "configuration reloaded from", after=mark)
        mark = len(read_log(log))
        publish_apple_tv_4k(publisher, name="Quiet Room", mac="AA:BB:CC:00:02:04",
                            mrp_id="quiet-0204")
        assert client.scan(Identifiers=["quiet-0204"], timeout=10000)
        assert not DEBUG_LINE.search(read_log(log)[mark:]), "debug lines after going back to info"
    finally:
        client.close()
    stop_atvd(atvd)
