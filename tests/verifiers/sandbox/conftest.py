"""Fixtures of the sandbox tests; helpers live in tests/helpers.py."""

import os
import socket

import pytest

from helpers import SECRET


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A loopback listener, a canary file outside the sandbox, a fake secret in our environment."""
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    os.chmod(tmp_path, 0o777)  # even writable to anyone: isolation, not permissions, protects it
    os.chmod(canary, 0o666)
    yield listener, canary
    listener.close()
