"""The run report in a real headless browser (Debian's chromium, `make browser`): the page loads
offline with no console error, its plots decode, and a screenshot of it is not blank.

Chromium is driven through its DevTools protocol over ``--remote-debugging-pipe`` (JSON
messages ended by NUL on fds 3 and 4), so no websocket client is needed.
"""

import base64
import fcntl
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from helpers import DISTILL, REPO, write_jsonl, write_recipe

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT_S = 60
# In the page: every plot decoded (naturalWidth), the sections, anything it would fetch, scripts.
PAGE_CHECK = """(async () => {
    const imgs = [...document.querySelectorAll("img.plot")];
    await Promise.all(imgs.map((i) => i.decode()));
    const linked = [...document.querySelectorAll("[src],[href]")];
    const refs = linked.map((e) => e.getAttribute("src") || e.getAttribute("href"));
    return {
        widths: imgs.map((i) => i.naturalWidth),
        sections: [...document.querySelectorAll("section")].map((s) => s.id),
        external: refs.filter((r) => !r.startsWith("data:")),
        scripts: document.scripts.length,
        planted: document.body.textContent.includes("<script>alert(1)</script>"),
    };
})()"""


class Chromium:
    """A headless chromium and a minimal DevTools client: commands, their replies, every event."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Above 9 so that moving them onto 3 and 4 in the child cannot clobber one another.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_r, from_browser_w)]
        os.close(to_browser_r)
        os.close(from_browser_w)

        def wire() -> None:  # in the child: its fd 3 reads our commands, its fd 4 carries replies
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run"]
        args += ["--no-default-browser-check", "--disable-extensions", f"--user-data-dir={profile}", "about:blank"]
        self.log = (profile.parent / "chromium.log").open("wb")
        self.proc = subprocess.Popen(
            [CHROMIUM, *args], preexec_fn=wire, close_fds=False, stdout=self.log, stderr=subprocess.STDOUT
        )
        for fd in high:
            os.close(fd)
        self.events: list[dict] = []
        self._replies: queue.Queue = queue.Queue()
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                *messages, buf = (buf + chunk).split(b"\0")
                for raw in messages:
                    self._replies.put(json.loads(raw))

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """One command; returns its result, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._replies.get(timeout=TIMEOUT_S)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, (method, reply["error"])
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, session: str) -> dict:
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            self.events.append(self._replies.get(timeout=TIMEOUT_S))
        return next(e for e in self.events if e.get("method") == method and e.get("sessionId") == session)

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:  # a hung browser must not outlive the test
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        self.log.close()


def console_errors(events: list[dict]) -> list[str]:
    """Uncaught exceptions, console.error calls and browser log errors (failed loads, CSP blocks)."""
    errors = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(json.dumps(params["args"])[:500])
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
    return errors


def png_colors(data: bytes, limit: int = 16) -> set[bytes]:
    """Distinct pixel colours of an 8-bit RGB/RGBA PNG (stops counting at ``limit``): the PNG
    is decoded here, with zlib and the five scanline filters, so no imaging library is needed."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, colors = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colors.update(bytes(line[x : x + bpp]) for x in range(0, stride, bpp))
        if len(colors) >= limit:
            break
        prev = line
    return colors


def test_png_colors_reads_a_one_colour_and_a_two_colour_image():
    def png(rows: list[bytes]) -> bytes:
        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        ihdr = struct.pack(">IIBBBBB", 2, len(rows), 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows)))

    white = b"\xff" * 6
    assert png_colors(png([b"\0" + white, b"\2" + b"\0" * 6])) == {b"\xff\xff\xff"}  # Up filter repeats the row
    # Sub adds the pixel to the left; Paeth (zeros) here picks the pixel above.
    rows = [b"\0" + white, b"\1" + b"\x10\x20\x30\x01\x01\x01", b"\4" + b"\0" * 6]
    assert png_colors(png(rows)) == {b"\xff\xff\xff", b"\x10\x20\x30", b"\x11\x21\x31"}


def _run(tmp_path: Path) -> Path:
    """The bundled R1 traces plus a MATH-500 problem (contamination) and a problem carrying
    markup (escaping), through decontaminate, verify, grade, shorten, select and export."""
    math500 = json.loads((REPO / "data/benchmarks/math500.jsonl").open().readline())
    traces = [json.loads(line) for line in (REPO / "data/traces/thought_anchors_math_sample.jsonl").open()]
    planted = {"teacher": "T", "completion": "<think>\nEasy.\n</think>\n\n$\\boxed{1}$", "gold": "1"}
    # First in the file, so it is ingest's example row for its drop reason (no reference answer).
    traces.insert(0, {**planted, "problem": "<script>alert(1)</script> 0+1?", "gold": None})
    traces.append({**planted, "problem": math500["problem"]})
    recipe = {
        "name": "report",
        "tokenizer": "embedded:smollm2-135m",
        "ingest": {
            "sources": [
                {
                    "path": str(write_jsonl(tmp_path / "traces.jsonl", traces)),
                    "kind": "traces",
                    "domain": "math",
                    "columns": {"problem": "problem", "reference_answer": "gold", "response": "completion"},
                }
            ],
            "rows_per_part": 8,
        },
        "decontaminate": {"benchmarks": ["math500"]},
        "verify": {"timeout_s": 10},
        "grade": {},
        "shorten": {"strategy": "first_correct"},
        "select": {},
        "export": {"include": "verified", "preference_pairs": True},
    }
    run_dir = tmp_path / "run"
    cmd = [DISTILL, "run", str(write_recipe(tmp_path / "r.yaml", recipe)), "--run-dir", str(run_dir), "--quiet"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make browser` installs Debian's)")
def test_report_page_in_a_headless_browser(tmp_path):
    run_dir = _run(tmp_path)
    # The command as a real process (a one-command typer app around the same function).
    script = "import typer; from pipeline.cli.report import report; typer.run(report)"
    proc = subprocess.run([sys.executable, "-c", script, str(run_dir)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = Path(proc.stdout.strip())
    assert page == run_dir / "report.html" and page.is_file()

    browser = Chromium(tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 900, "height": 700, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        browser.send("Page.navigate", {"url": page.as_uri()}, session)
        browser.wait_event("Page.loadEventFired", session)
        result = browser.send(
            "Runtime.evaluate", {"expression": PAGE_CHECK, "awaitPromise": True, "returnByValue": True}, session
        )
        shot = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session)["data"])
        errors = console_errors(browser.events)
    finally:
        browser.close()

    value = result["result"]["value"]
    assert errors == []
    assert value["sections"] == ["funnel", "tokens", "pass-rate", "drops", "contamination", "throughput"]
    # funnel, tokens per teacher, before/after shortening, pass rate, drops, contamination, throughput
    assert len(value["widths"]) == 7 and all(w > 0 for w in value["widths"]), value["widths"]
    assert value["external"] == [] and value["scripts"] == 0
    assert value["planted"]  # shown as text, not run as a script
    assert len(png_colors(shot)) > 1
