import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from atvd_harness import Client, Daemon, Publisher  # noqa: E402


@pytest.fixture
def publisher():
    publisher = Publisher()
    yield publisher
    publisher.withdraw_all()


@pytest.fixture
def daemon():
    daemon = Daemon().start()
    yield daemon
    code = daemon.stop()
    assert code == 0, f"atvd did not shut down cleanly ({code}):\n{daemon.output()}"


@pytest.fixture
def client(daemon):
    client = Client()
    yield client
    client.close()
