"""A page in a real headless Chromium, driven through the DevTools protocol over a pipe (no websocket library,
no port): what it rendered (the DOM), a screenshot, and every console message, uncaught exception and browser
log entry of an error level it produced.

Chromium comes from Debian (``make browser``). Without it a test skips, saying so; under ``CI`` it fails. The
flags keep Chromium off the network entirely (this machine's is closed; a report must not need it anyway).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--remote-debugging-pipe")
TIMEOUT_SECONDS = 60.0


def chromium_or_skip() -> str:
    """The Chromium executable; without one, skip (or fail under CI, which installs it: ``make browser``)."""
    found = next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)
    if found is None:
        message = "Chromium is not installed (make browser, i.e. apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must have it")
        pytest.skip(message)
    return found


@dataclass
class Visit:
    dom: str
    screenshot: bytes
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, error log entries
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, the page's own included


class DevTools:
    """One browser over ``--remote-debugging-pipe``: commands on its fd 3, replies and events on its fd 4."""

    def __init__(self, executable: str, profile: Path, width: int, height: int) -> None:
        to_child, self._writer = os.pipe()
        self._reader, from_child = os.pipe()

        def wire() -> None:  # in the child, before exec: the pipe ends where Chromium expects them
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.log = profile / "chromium.log"  # a file, not a pipe: nobody has to drain it
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [executable, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, pass_fds=(3, 4),
                preexec_fn=wire)  # wire() only calls os.dup2: safe after a fork even with other threads about
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.deadline = time.monotonic() + TIMEOUT_SECONDS

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe: "
                                   + self.log.read_text(errors="replace")[-2000:])
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> dict[str, Any]:
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._writer, json.dumps(command).encode() + b"\0")
        while True:
            message = self._message()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._message())

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._writer, self._reader):
            os.close(fd)


def errors_in(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            found.append("console." + params["type"] + ": "
                         + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append("exception: " + str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            entry = params["entry"]
            found.append(f"log {entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".rstrip())
    return found


def visit(executable: str, page: Path, width: int = 1280, height: int = 2000) -> Visit:
    """Load ``page`` in a fresh headless Chromium; its DOM, a full-page screenshot and its errors."""
    with tempfile.TemporaryDirectory(prefix="orgguard-chromium-") as profile:
        browser = DevTools(executable, Path(profile), width, height)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Page", "Network"):
                browser.call(f"{domain}.enable", session=session)
            browser.call("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
            browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
            browser.wait_for("Page.loadEventFired")
            dom = browser.call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                                     "returnByValue": True}, session)["result"]["value"]
            shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                session)["data"]
            requests = [e["params"]["request"]["url"] for e in browser.events
                        if e.get("method") == "Network.requestWillBeSent"]
            return Visit(str(dom), base64.b64decode(shot), errors_in(browser.events), requests)
        finally:
            browser.close()
