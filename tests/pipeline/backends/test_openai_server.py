"""Server backend error handling against ScriptedOpenAIServer, a loopback HTTP stub that plays
scripted failures (429/5xx, auth, 400, servers that ignore n). The happy path against vLLM's real
server is in test_server_e2e.py."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.backends.base import Request
from pipeline.backends.openai_server import OpenAIServerBackend, ServerUnavailable
from pipeline.errors import UserError

KEY = "sk-test-secret-123"


class _Server(ThreadingHTTPServer):
    # The client opens up to max_concurrency connections at once; the default listen backlog (5)
    # resets some of them when the machine is busy.
    request_queue_size = 256


class ScriptedOpenAIServer:
    def __init__(
        self,
        fail_first: int = 0,
        fail_status: int = 503,
        honour_n: bool = True,
        reasoning: bool = False,
        tokenize: bool = False,
    ):
        self.fail_first, self.fail_status = fail_first, fail_status
        self.tokenize = tokenize
        self.tokenize_in_flight = self.tokenize_peak = 0
        self.lock = threading.Lock()
        self.honour_n, self.reasoning = honour_n, reasoning
        self.bodies: list[dict] = []
        self.auth_headers: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _tokenize(self, body):
                with server.lock:
                    server.tokenize_in_flight += 1
                    server.tokenize_peak = max(server.tokenize_peak, server.tokenize_in_flight)
                text = body["messages"][0]["content"]
                time.sleep(0.2 if text.startswith("slow") else 0.01)  # answers arrive out of order
                with server.lock:
                    server.tokenize_in_flight -= 1
                self._send(200, {"count": len(text.split())})

            def do_GET(self):
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self._send(401, {"error": "bad key"})
                self._send(200, {"data": [{"id": "m", "root": "/models/m", "max_model_len": 4096}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.auth_headers.append(self.headers.get("Authorization"))
                if self.path.endswith("/tokenize"):
                    if not server.tokenize:
                        return self._send(404, {"error": "no tokenizer here"})
                    return self._tokenize(body)
                server.bodies.append(body)
                if len(server.bodies) <= server.fail_first:
                    return self._send(server.fail_status, {"error": "try later"})
                if "TOO LONG" in body["messages"][0]["content"]:
                    return self._send(400, {"error": "maximum context length exceeded"})
                n = body.get("n", 1) if server.honour_n else 1
                message = {"content": "The answer is 4."}
                if server.reasoning:
                    message["reasoning_content"] = "2+2 is 4"
                self._send(
                    200,
                    {
                        "choices": [{"index": i, "message": message, "finish_reason": "stop"} for i in range(n)],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 6 * n},
                    },
                )

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("TEST_TEACHER_KEY", KEY)
    return "TEST_TEACHER_KEY"


def _backend(server, key_env, **kw):
    return OpenAIServerBackend(server.url, "m", api_key_env=key_env, max_retries=kw.pop("max_retries", 3), **kw)


def _ask(backend, texts, n=2):
    return backend.chat([Request([{"role": "user", "content": t}], n, 1, {"max_tokens": 8}) for t in texts])


def test_retries_transient_errors_then_succeeds(key_env, monkeypatch):
    monkeypatch.setattr("pipeline.backends.openai_server.random.random", lambda: 0.0)  # shortest backoff
    server = ScriptedOpenAIServer(fail_first=2, fail_status=429)
    try:
        results = _ask(_backend(server, key_env), ["q1"])
        assert [s.text for s in results[0].samples] == ["The answer is 4.", "The answer is 4."]
        assert len(server.bodies) == 3
        assert set(server.auth_headers) == {f"Bearer {KEY}"}
    finally:
        server.close()


def test_gives_up_after_retries_with_a_resumable_error(key_env, monkeypatch):
    monkeypatch.setattr("pipeline.backends.openai_server.asyncio.sleep", _no_sleep)
    server = ScriptedOpenAIServer(fail_first=100, fail_status=503)
    try:
        with pytest.raises(ServerUnavailable, match="HTTP 503 after 2 retries") as exc:
            _ask(_backend(server, key_env, max_retries=2), ["q1"])
        assert KEY not in str(exc.value)
        assert len(server.bodies) == 3
    finally:
        server.close()


async def _no_sleep(_seconds):
    return None


def test_auth_errors_are_not_retried(monkeypatch):
    monkeypatch.setenv("TEST_TEACHER_KEY", "wrong-key")
    server = ScriptedOpenAIServer()
    try:
        with pytest.raises(UserError, match="refused the API key") as exc:
            _backend(server, "TEST_TEACHER_KEY")
        assert "wrong-key" not in str(exc.value)
    finally:
        server.close()


def test_missing_key_variable_is_named_not_printed(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(UserError, match="NO_SUCH_KEY_VAR"):
        OpenAIServerBackend("http://127.0.0.1:9/v1", "m", api_key_env="NO_SUCH_KEY_VAR")


def test_a_refused_request_fails_alone(key_env):
    server = ScriptedOpenAIServer()
    try:
        ok, refused = _ask(_backend(server, key_env), ["fine", "TOO LONG " * 10])
        assert ok.error is None and len(ok.samples) == 2
        assert refused.error.startswith("HTTP 400") and refused.samples == []
    finally:
        server.close()


def test_servers_that_ignore_n_are_topped_up(key_env):
    server = ScriptedOpenAIServer(honour_n=False)
    try:
        (result,) = _ask(_backend(server, key_env), ["q"], n=3)
        assert len(result.samples) == 3 and [b["n"] for b in server.bodies] == [3, 2, 1]
        assert all(s.n_output_tokens == 6 for s in result.samples)  # usage of a one-choice answer
    finally:
        server.close()


def test_reasoning_field_becomes_a_think_block(key_env):
    server = ScriptedOpenAIServer(reasoning=True)
    try:
        (result,) = _ask(_backend(server, key_env), ["q"], n=1)
        assert result.samples[0].text == "<think>\n2+2 is 4\n</think>\n\nThe answer is 4."
    finally:
        server.close()


def test_without_tokenize_endpoint_counts_are_zero(key_env):
    server = ScriptedOpenAIServer()
    try:
        backend = _backend(server, key_env)
        assert backend.count_prompt_tokens([[{"role": "user", "content": "x"}]] * 2) == [0, 0]
        assert backend.max_model_len == 4096 and backend.revision == "server:/models/m"
    finally:
        server.close()


def test_prompt_tokens_are_counted_concurrently_and_returned_in_order(key_env):
    server = ScriptedOpenAIServer(tokenize=True)
    try:
        texts = [("slow " if i % 5 == 0 else "") + "word " * i for i in range(20)]
        counts = _backend(server, key_env).count_prompt_tokens([[{"role": "user", "content": t}] for t in texts])
        assert counts == [len(t.split()) for t in texts]
        assert server.tokenize_peak > 1
    finally:
        server.close()


def test_seed_is_sent_only_when_asked(key_env):
    server = ScriptedOpenAIServer()
    try:
        _ask(_backend(server, key_env), ["q"], n=1)
        _ask(_backend(server, key_env, per_request_seed=True), ["q"], n=1)
        assert "seed" not in server.bodies[0] and server.bodies[1]["seed"] == 1
    finally:
        server.close()
