"""The Python side of the IAM engine: one long-lived Node process (``simulator.mjs``) spoken to in JSON lines.

Starting Node and loading iam-simulate costs about a second; a decision then costs about a millisecond. The
process is started on first use and kept for the life of the embedded AWS. Identical questions (same
principal, action, resource, context and policies) get the cached answer: most calls of a run repeat.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "simulator.mjs"
REPOSITORY_ROOT = SCRIPT.parents[3]
PACKAGE = REPOSITORY_ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate"


class SimulatorError(RuntimeError):
    """The IAM engine could not start, or refused a question (an invalid policy, action or ARN)."""


@dataclass(frozen=True)
class Decision:
    result: str  # Allowed | ImplicitlyDenied | ExplicitlyDenied
    # (policy type, denial type): identity, resource, scp, rcp, ...; Explicit or Implicit
    denials: tuple[tuple[str, str], ...] = ()

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


@dataclass
class Simulator:
    node: str = "node"
    _process: subprocess.Popen[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: dict[str, Decision] = field(default_factory=dict)
    _next_id: int = 0
    questions: int = 0  # decisions asked for (cached or not)
    evaluations: int = 0  # decisions the engine computed

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if shutil.which(self.node) is None:
            raise SimulatorError(f"{self.node} is not on PATH: the IAM checks of the embedded AWS need Node.js 20")
        if not PACKAGE.is_dir():
            raise SimulatorError(f"{PACKAGE} is missing: `npm ci` (run by make install) installs iam-simulate")
        self._process = subprocess.Popen([self.node, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True, bufsize=1, cwd=str(REPOSITORY_ROOT))
        return self._process

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        process = self._start()
        self._next_id += 1
        request = {"id": self._next_id, **request}
        if process.stdin is None or process.stdout is None:
            raise SimulatorError("the IAM engine has no pipes")
        process.stdin.write(json.dumps(request, separators=(",", ":")) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise SimulatorError(f"the IAM engine stopped (exit code {process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if answer.get("id") != request["id"]:
            raise SimulatorError(f"the IAM engine answered request {answer.get('id')} for {request['id']}")
        return answer

    def decide(self, simulation: dict[str, Any]) -> Decision:
        key = hashlib.sha256(json.dumps(simulation, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        with self._lock:
            self.questions += 1
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            answer = self._ask({"simulate": simulation})
            self.evaluations += 1
            if "error" in answer:
                request = simulation.get("request", {})
                raise SimulatorError(f"iam-simulate refused {request.get('action')} on "
                                     f"{request.get('resource', {}).get('resource')}: {answer['error']}")
            decision = Decision(str(answer["result"]),
                                tuple((str(d.get("policyType", "")), str(d.get("denialType", "")))
                                      for d in answer.get("denials", [])))
            self._cache[key] = decision
            return decision

    def check_actions(self, actions: list[str]) -> tuple[list[str], list[str]]:
        """(actions iam-data does not know, actions without resource-level permissions), from AWS's service
        authorization reference as iam-data ships it."""
        with self._lock:
            answer = self._ask({"actions": sorted(set(actions))})
        if "error" in answer:
            raise SimulatorError(f"iam-data could not check the actions: {answer['error']}")
        return list(answer["unknown"]), list(answer["wildcardOnly"])

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                if self._process.stdin is not None:
                    self._process.stdin.close()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                self._process = None
