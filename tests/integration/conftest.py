import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from atvd_harness import Client, Daemon, FakeAppleTV, Publisher  # noqa: E402


@pytest.fixture
def fake():
    """Starts fake Apple TVs (arguments as FakeAppleTV's) and stops them after the test."""
    fakes = []

    def start(name="Fake Room", identifier="fake-atv-0001", mac="AA:BB:CC:00:00:01", *extra):
        device = FakeAppleTV(name, identifier, mac, *extra)
        fakes.append(device)
        return device
    yield start
    for device in fakes:
        device.stop()


@pytest.fixture
def publisher():
    publisher = Publisher()
    yield publisher
    publisher.withdraw_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when == "setup":
        FakeAppleTV.started = [fake for fake in FakeAppleTV.started if fake.process.poll() is None]
    if report.failed:
        item.failed_in = report.when
        for fake in FakeAppleTV.started:
            state = fake.process.poll()
            report.sections.append((f"fake Apple TV '{fake.name}' (exit status {state})",
                                    fake.output()[-6000:]))


@pytest.fixture
def daemon(request):
    # A test module may give atvd environment variables of its own (DAEMON_ENV).
    daemon = Daemon(env=getattr(request.module, "DAEMON_ENV", None)).start()
    yield daemon
    if getattr(request.node, "failed_in", None):
        # The daemon's own account of a failed test is the first thing anyone needs.
        print(f"--- atvd log ({daemon.log_path}) ---\n{daemon.output()[-20000:]}")
    code = daemon.stop()
    assert code == 0, f"atvd did not shut down cleanly ({code}):\n{daemon.output()}"


@pytest.fixture
def client(daemon):
    client = Client()
    yield client
    client.close()
