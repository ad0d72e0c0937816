"""EC2's eventual consistency for new instances, which moto does not have: not found, then pending, then running.

AWS documents it ("Eventual consistency in the Amazon EC2 API"): right after a successful RunInstances, a call that
names one of its instances (DescribeInstances with its id, CreateTags on it, ModifyInstanceAttribute, ...) may
answer ``InvalidInstanceID.NotFound``, which does not mean that the instance does not exist; and a new instance is
``pending`` (code 0) before it is ``running`` (code 16). moto shows every instance at once, already running (only
RunInstances' own answer says pending).

This part tracks each instance from RunInstances' response (its ids are read from the XML) and then:

- *unseen*: a call naming it is refused with EC2's ``InvalidInstanceID.NotFound`` ("The instance ID 'i-...' does not
  exist", HTTP 400) until ``unseen_reads`` such calls were refused or ``unseen_seconds`` have passed, whichever
  comes first. The reads rule makes it deterministic: the sandbox's Lambda retries at once where Lambda waits a
  minute, so the retry must find the instance because it is the second read, not because time passed.
- *pending*: then the first ``pending_reads`` DescribeInstances answers that show it (within ``pending_seconds`` of
  the launch) say ``pending``; later ones say what moto says.

Calls that list instances without naming them are not refused; a listing during the unseen window shows the
instance ``pending`` (without counting as one of its reads). ``settle`` ends every window at once (replay
seeds instances that stand for ones launched long ago).
"""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.aws.gateway import Response
from sandbox.aws.iam.errors import error
from sandbox.aws.wire import AwsCall

NOT_FOUND = "InvalidInstanceID.NotFound"
# Parameters that name instances on the EC2 query protocol: InstanceId (ModifyInstanceAttribute, ...),
# InstanceId.N (DescribeInstances, TerminateInstances, ...), ResourceId.N (CreateTags, DeleteTags).
_NAMING = re.compile(r"^(InstanceId|ResourceId)(\.\d+)?$")
PENDING = ("0", "pending")


@dataclass(frozen=True)
class ConsistencyWindow:
    """How long a new instance stays unseen, then pending: a number of reads, or seconds, whichever ends first.

    The reads end the window in practice. The seconds are only a bound, 60 rather than the couple of seconds EC2
    usually takes: the demo plays every story before the events flow, so its handler reads a new instance 3-4 s
    after the launch and must still meet the window; 60 s is also about when Lambda's first asynchronous retry
    comes, so a handler that relies on that retry sees the same under either rule.
    """

    unseen_reads: int = 1
    unseen_seconds: float = 60.0
    pending_reads: int = 1
    pending_seconds: float = 60.0


def not_found_message(instance_ids: list[str]) -> str:
    """EC2's words for unknown instance ids (one, or several joined by ", ")."""
    if len(instance_ids) == 1:
        return f"The instance ID '{instance_ids[0]}' does not exist"
    return f"The instance IDs '{', '.join(instance_ids)}' do not exist"


def launched_ids(body: bytes) -> list[str]:
    """The instance ids of a RunInstances response (``instancesSet/item/instanceId``)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    return [str(node.text) for node in root.findall("{*}instancesSet/{*}item/{*}instanceId") if node.text]


def named_instances(call: AwsCall) -> list[str]:
    """The instance ids a call names (other resource ids in ``ResourceId.N`` are left out)."""
    return [str(value) for key, value in call.params.items()
            if _NAMING.match(key) and str(value).startswith("i-")]


@dataclass
class _Launch:
    at: float  # when RunInstances answered
    refused: int = 0  # calls naming it that were answered "not found"
    shown_pending: int = 0  # DescribeInstances answers that showed it pending


@dataclass
class Ec2Consistency:
    window: ConsistencyWindow = field(default_factory=ConsistencyWindow)
    clock: Callable[[], float] = time.monotonic
    name: str = "ec2-consistency"
    _launches: dict[tuple[str, str], _Launch] = field(default_factory=dict)  # (region, instance id) -> launch
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self._launches.clear()

    def settle(self) -> None:
        """Every instance launched so far is visible and running, as if the windows had passed."""
        with self._lock:
            self._launches.clear()

    def _unseen(self, launch: _Launch, now: float) -> bool:
        window = self.window
        return launch.refused < window.unseen_reads and now - launch.at < window.unseen_seconds

    def _pending(self, launch: _Launch, now: float) -> bool:
        window = self.window
        return launch.shown_pending < window.pending_reads and now - launch.at < window.pending_seconds

    def before(self, call: AwsCall) -> Response | None:
        if call.service != "ec2" or call.operation == "RunInstances":
            return None
        named = named_instances(call)
        if not named:
            return None
        now = self.clock()
        unseen = []
        with self._lock:
            for instance_id in named:
                launch = self._launches.get((call.region, instance_id))
                if launch is not None and self._unseen(launch, now):
                    launch.refused += 1
                    unseen.append(instance_id)
        if not unseen:
            return None
        return error(call, 400, NOT_FOUND, not_found_message(unseen))

    def after(self, call: AwsCall, response: Response) -> Response:
        if call.service != "ec2" or response.status != 200:
            return response
        if call.operation == "RunInstances":
            now = self.clock()
            with self._lock:
                self._forget_settled(now)
                for instance_id in launched_ids(response.body):
                    self._launches[(call.region, instance_id)] = _Launch(now)
            return response
        if call.operation == "DescribeInstances":
            return self._show_pending(call, response)
        return response

    def _show_pending(self, call: AwsCall, response: Response) -> Response:
        with self._lock:
            if not any(region == call.region for region, _ in self._launches):
                return response
        try:
            root = ET.fromstring(response.body)
        except ET.ParseError:
            return response
        now = self.clock()
        changed = False
        with self._lock:
            for item in root.findall("{*}reservationSet/{*}item/{*}instancesSet/{*}item"):
                instance_id = item.findtext("{*}instanceId", "")
                launch = self._launches.get((call.region, instance_id))
                state = item.find("{*}instanceState")
                if launch is None or state is None or state.findtext("{*}name") != "running":
                    continue
                unseen = self._unseen(launch, now)  # shown by a listing while unseen by id: pending, not counted
                if not unseen and not self._pending(launch, now):
                    continue
                if not unseen:
                    launch.shown_pending += 1
                code, name = state.find("{*}code"), state.find("{*}name")
                if code is not None and name is not None:
                    code.text, name.text = PENDING
                    changed = True
            self._forget_settled(now)
        if not changed:
            return response
        return response.with_body(_serialize(root))

    def _forget_settled(self, now: float) -> None:
        """Drop instances whose windows are over (called with the lock held)."""
        over = [key for key, launch in self._launches.items()
                if not self._unseen(launch, now) and not self._pending(launch, now)]
        for key in over:
            del self._launches[key]


def _serialize(root: ET.Element) -> bytes:
    """The document again, with EC2's namespace as the default one (as EC2 and moto write it)."""
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if namespace:
        ET.register_namespace("", namespace)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
