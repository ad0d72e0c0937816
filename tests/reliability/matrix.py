"""The fault matrix: every AWS call of every guardrail, times each fault, with the outcome the engine must reach.

The tests in ``test_fault_matrix.py`` run every row and assert exactly this; ``docs/fault-matrix.md`` is
rendered from it (``python -m tests.reliability.matrix`` rewrites it; a test fails when it is stale). So
the table in the documentation says only what a test proves.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from handlers import outcome as oc
from handlers.registry import policy_ids

DOC = Path(__file__).resolve().parents[2] / "docs" / "fault-matrix.md"

Call = tuple[str, str]  # (botocore service id, operation)

ASSUME = ("sts", "AssumeRole")
CLAIM = ("dynamodb", "PutItem")
RECORD = ("dynamodb", "UpdateItem")
PUBLISH = ("sns", "Publish")

# Every AWS call a first delivery of a non-compliant resource makes, in order of first use (a test checks
# this list against the calls the engine really makes, so it cannot go stale). UpdateItem is made twice: the
# final record (outcome, actions, the rendered e-mail, notification "pending") before Publish, and "sent"
# after it; a fault on UpdateItem fails both.
CALLS: dict[str, tuple[Call, ...]] = {
    "vpc-created": (CLAIM, ASSUME, ("ec2", "DescribeVpcs"), RECORD, PUBLISH),
    "s3-encryption": (CLAIM, ASSUME, ("s3", "GetBucketEncryption"), ("s3", "GetBucketTagging"),
                      ("s3", "PutBucketEncryption"), RECORD, PUBLISH),
    "ec2-compliance": (CLAIM, ASSUME, ("ec2", "DescribeInstances"), ("ec2", "DescribeSecurityGroups"),
                       ("ec2", "CreateTags"), ("ec2", "ModifyInstanceAttribute"), RECORD, PUBLISH),
    "s3-public-access": (CLAIM, ASSUME, ("s3", "GetPublicAccessBlock"), ("s3", "GetBucketTagging"),
                         ("s3", "PutPublicAccessBlock"), RECORD, PUBLISH),
}
WRITES: dict[str, tuple[Call, ...]] = {
    "vpc-created": (),
    "s3-encryption": (("s3", "PutBucketEncryption"),),
    "ec2-compliance": (("ec2", "CreateTags"), ("ec2", "ModifyInstanceAttribute")),
    "s3-public-access": (("s3", "PutPublicAccessBlock"),),
}
OUTCOME = {"vpc-created": oc.REPORTED, "s3-encryption": oc.REMEDIATED, "ec2-compliance": oc.REMEDIATED,
           "s3-public-access": oc.REMEDIATED}
TRANSIENT_KINDS = ("throttling", "5xx")


@dataclass(frozen=True)
class Expect:
    """What happens when ``call`` fails on the first delivery beyond botocore's retries, then works again."""

    policy: str
    call: Call
    kind: str
    outcome: str  # the outcome recorded once the event is handled
    notifications: int  # e-mails in total, over all deliveries

    @property
    def acted_before_failing(self) -> bool:
        calls = CALLS[self.policy]
        return any(w in calls[: calls.index(self.call)] for w in WRITES[self.policy])


def transient(policy: str, call: Call, kind: str) -> Expect:
    # Whatever fails, the retry records what the first delivery did (writes carried in the claim, or its whole
    # result when only the final record failed) and the e-mail goes out once.
    return Expect(policy, call, kind, OUTCOME[policy], 1)


TRANSIENT_ROWS: tuple[Expect, ...] = tuple(
    transient(policy, call, kind) for policy in policy_ids() for call in CALLS[policy] for kind in TRANSIENT_KINDS)


@dataclass(frozen=True)
class Special:
    fault: str
    policy: str
    outcome: str
    notified: bool


NOT_ONBOARDED_ROWS = tuple(Special("AccessDenied on AssumeRole", p, oc.NOT_ONBOARDED, True) for p in policy_ids())
REGION_DISABLED_ROWS = tuple(Special("RegionDisabledException on AssumeRole", p, oc.REGION_DISABLED, True)
                             for p in policy_ids())
# Publish succeeded, then recording "sent" (the second UpdateItem) failed: the retry cannot know whether the
# e-mail went out and does not send it again (at most once); the record says it may not have been sent.
UNCONFIRMED_ROWS = tuple(Special("e-mail sent, its confirmation failed", p, OUTCOME[p], True) for p in policy_ids())
DELETED_ROWS = (
    Special("deleted before the read", "vpc-created", oc.GONE, True),
    Special("deleted before the read", "s3-encryption", oc.GONE, False),
    Special("deleted before the read", "ec2-compliance", oc.GONE, False),
    Special("deleted before the write", "s3-encryption", oc.GONE, False),
    Special("deleted before the write", "ec2-compliance", oc.GONE, False),
    Special("deleted before the read", "s3-public-access", oc.GONE, False),
    Special("deleted before the write", "s3-public-access", oc.GONE, False),
)


# --- the document -----------------------------------------------------------------------------------------


def _transient_cell(row: Expect) -> str:
    notices = "1 e-mail" if row.notifications == 1 else f"{row.notifications} e-mails"
    if row.call == RECORD:
        return (f"raise before the e-mail, the result handed over in the claim; retry: records it, "
                f"`{row.outcome}`, {notices}")
    if row.call == PUBLISH:
        return f"raise after the record (e-mail: failed); retry: e-mail only, `{row.outcome}`"
    if row.acted_before_failing:
        calls = CALLS[row.policy]
        done = [f"`{w[1]}`" for w in WRITES[row.policy] if w in calls[: calls.index(row.call)]]
        return (f"raise after {', '.join(done)} (carried in the claim); retry: the rest, `{row.outcome}` "
                f"recording every write, {notices}")
    return f"raise; retry: `{row.outcome}`, {notices}"


def _special_cell(row: Special | None) -> str:
    if row is None:
        return "n/a"
    return f"`{row.outcome}`" + (", e-mail" if row.notified else ", no e-mail")


def render() -> str:
    policies = policy_ids()
    header = "| Fault | " + " | ".join(f"`{p}`" for p in policies) + " |"
    rule = "|---|" + "---|" * len(policies)
    lines = [
        "# Fault matrix: fault x guardrail -> outcome",
        "",
        "Generated from `tests/reliability/matrix.py` by `python -m tests.reliability.matrix`; every cell is",
        "asserted by `tests/reliability/test_fault_matrix.py` (moto, faults injected as AWS error responses",
        "inside botocore's retry loop). Do not edit by hand.",
        "",
    ]
    lines += _transient_section(policies, header, rule)
    lines += _other_section(policies, header, rule)
    return "\n".join(lines)


def _transient_section(policies: tuple[str, ...], header: str, rule: str) -> list[str]:
    """The transient faults' table, one row per call, and what every row shares."""
    lines = [
        "## Transient faults on every call (persisting beyond botocore's retries on the first delivery)",
        "",
        "Throttling uses each service's own code (`RequestLimitExceeded`, `SlowDown`, `Throttling`,",
        "`ThrottlingException`); 5xx is `InternalError`/`ServiceUnavailable`/`InternalServerError` with HTTP",
        "500/503. Both give the same outcome, so one cell covers both. \"raise\" means `process()` raises and",
        "Lambda retries the event; the retry comes after the fault is gone. In every row each write",
        "(`PutBucketEncryption`, `CreateTags`, `ModifyInstanceAttribute`) succeeds exactly once over all",
        "deliveries, the member's resource ends compliant, and the final record lists every write made.",
        "",
        header,
        rule,
    ]
    calls = sorted({row.call for row in TRANSIENT_ROWS}, key=_call_order)
    for call in calls:
        cells = []
        for policy in policies:
            row = next((r for r in TRANSIENT_ROWS if r.policy == policy and r.call == call), None)
            cells.append(_transient_cell(row) if row else "not called")
        lines.append(f"| {call[0]} `{call[1]}` throttled / 5xx | " + " | ".join(cells) + " |")
    lines += [
        "",
        "- The final record (outcome, actions, the rendered e-mail, notification `pending`) is written before",
        "  `Publish`, and `sent` after it, so no retry can e-mail twice.",
        "- An attempt that raises after acting hands its claim over (a conditional `PutItem`, lease ended)",
        "  with what it did: the writes it made, or its whole result when only the final record failed. The",
        "  retry takes them with the claim, merges them into its result (`remediated`, not `compliant`) or",
        "  records the result as it is, and never repeats a write. If the hand-over fails too, the claim's",
        "  lease (the function timeout + 30 s) runs out and a later retry evaluates the live state afresh (a",
        "  resource fixed by then is recorded `compliant`; not covered by the rows above).",
        "- `Publish` fails after the fix: the notification is recorded as failed, and the retry sends the",
        "  stored e-mail without evaluating again.",
        "",
    ]
    return lines


def _other_section(policies: tuple[str, ...], header: str, rule: str) -> list[str]:
    """The other faults' table (not onboarded, region disabled, unconfirmed e-mail, deleted resources)."""
    lines = [
        "## Other faults",
        "",
        header,
        rule,
    ]
    for fault, rows in (("AccessDenied on `AssumeRole`", NOT_ONBOARDED_ROWS),
                        ("RegionDisabledException on `AssumeRole`", REGION_DISABLED_ROWS),
                        ("`Publish` done, its confirmation (`UpdateItem`) fails", UNCONFIRMED_ROWS),
                        ("resource deleted before the read", [r for r in DELETED_ROWS if "read" in r.fault]),
                        ("resource deleted before the write", [r for r in DELETED_ROWS if "write" in r.fault])):
        cells = [_special_cell(next((r for r in rows if r.policy == p), None)) for p in policies]
        lines.append(f"| {fault} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "- `not-onboarded` e-mails at most once per account per day, `region-disabled` (STS not activated in",
        "  the region) once per account and region per day, however many events arrive.",
        "- An e-mail whose confirmation failed is not sent again: the retry records the notification as",
        "  `unknown` (it may not have been sent): at most once, never twice.",
        "- \"n/a\": `vpc-created` only reads. A VPC deleted before it was read is still reported (someone",
        "  created one); a bucket or an instance that is gone needs nothing.",
        "",
    ]
    return lines


def _call_order(call: Call) -> int:
    """Rows in the order a delivery makes the calls: claim, AssumeRole, member calls, e-mail, record."""
    hub_first, hub_last = (CLAIM, ASSUME), (RECORD, PUBLISH)
    if call in hub_first:
        return hub_first.index(call)
    if call in hub_last:
        return 1000 + hub_last.index(call)
    member_calls = [c for calls in CALLS.values() for c in calls if c not in hub_first + hub_last]
    return len(hub_first) + member_calls.index(call)


def main(argv: list[str]) -> int:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render())
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
