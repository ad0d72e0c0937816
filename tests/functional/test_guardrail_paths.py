"""Push and pull agree: an event and the sweep give the same ``Finding`` for the same resource state.

Both paths run ``handlers.guardrails.check`` (read, evaluate, fix); they differ only in what they already
know (the event names one resource; the sweep lists them, with tags and states, first). For each sweepable
guardrail, resources in several states are checked both ways in report mode, across the account boundary
(the member is reached by AssumeRole), and the findings compared whole.
"""

from __future__ import annotations

import pytest

from tests.support.events import bucket_event, run_instances_event
from tests.support.guardrail_paths import by_event, by_sweep
from tests.support.handlers import Hub
from tests.support.members import Member, launch, make_bucket, make_network

pytestmark = pytest.mark.functional

KMS = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
       "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}


@pytest.mark.parametrize("state", ["no-configuration", "aes256", "kms", "exempt", "aes256-tagged"])
def test_a_bucket_gets_the_same_finding_from_its_event_and_from_the_sweep(hq: Hub, spoke: Member,
                                                                         state: str) -> None:
    encryption = {"aes256": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
                  "aes256-tagged": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
                  "kms": KMS}.get(state)
    tags = {"exempt": {"orgguard:exempt": "s3-encryption", "team": "data"},
            "aes256-tagged": {"orgguard:s3-encryption": "AES256"}}.get(state)
    bucket = make_bucket(spoke, f"paths-{state}", tags=tags, encryption=encryption)
    payload = bucket_event("records/panther__PutBucketEncryption__1.json", spoke, bucket)

    [pushed] = by_event(spoke, "s3-encryption", payload)
    [pulled] = by_sweep(spoke, "s3-encryption", [bucket])

    assert pushed == pulled
    # the tag lowers the algorithm to AES256, not the blocked upload types: SSE-C must still be blocked
    assert pushed.outcome == {"no-configuration": "reported", "aes256": "reported", "kms": "compliant",
                              "exempt": "exempt", "aes256-tagged": "reported"}[state]


def test_instances_get_the_same_findings_from_their_event_and_from_the_sweep(hq: Hub, spoke: Member) -> None:
    network = make_network(spoke)
    bare = launch(spoke, network, count=2)
    tagged = launch(spoke, network, tags={"Owner": "dana", "CostCenter": "42"}, groups=[network.admin_group])
    exempt = launch(spoke, network, tags={"orgguard:exempt": "all"})
    ids = [*bare, *tagged, *exempt]
    payload = run_instances_event("records/spotlight__RunInstances__1.json", spoke, ids, network)

    pushed = by_event(spoke, "ec2-compliance", payload)
    pulled = by_sweep(spoke, "ec2-compliance", ids)

    assert pushed == pulled
    assert [f.outcome for f in pushed] == ["reported", "reported", "compliant", "exempt"]
    assert all(f.planned for f in pushed[:2]) and not pushed[2].planned
