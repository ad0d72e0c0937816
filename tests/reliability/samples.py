"""Events built from real CloudTrail records (``../shared/cloudtrail-samples``), pointed at test resources.

Only the fields a scenario needs are changed (account, region, event id, resource ids); everything else is
the real record, so the engine parses what CloudTrail really sends.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from handlers.registry import CLOUDTRAIL_DETAIL_TYPE, REMEDIATION_ROLE_NAME
from tests.support.samples import SAMPLES

CREATE_VPC = "records/panther__CreateVpc__1.json"
CREATE_BUCKET = "records/spotlight__CreateBucket__1.json"
DELETE_BUCKET_ENCRYPTION = "records/panther__DeleteBucketEncryption__1.json"
DELETE_PUBLIC_ACCESS_BLOCK = "records/panther__DeleteBucketPublicAccessBlock__2.json"
PUT_BUCKET_ENCRYPTION = "records/panther__PutBucketEncryption__1.json"
RUN_INSTANCES = "records/panther__RunInstances__1.json"
CREATE_TAGS = "records/techcadia__CreateTags__1.json"
MODIFY_INSTANCE_ATTRIBUTE = "records/techcadia__ModifyInstanceAttribute__1.json"
UNRELATED = ("records/panther__ConsoleLogin__1.json", "records/panther__GetObject__1.json",
             "records/spotlight__CreateSubnet__1.json", "records/panther__StopInstances__1.json")
FAILED_RUN_INSTANCES = "records/panther__RunInstances__4.json"  # errorCode: the call failed


def load(relative: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / relative).read_text()))


def all_records() -> list[tuple[str, dict[str, Any]]]:
    """Every sample as a bare CloudTrail record (wrapped ones unwrapped), with its file name."""
    found = []
    for path in sorted(SAMPLES.glob("*/*.json")):
        payload = json.loads(path.read_text())
        found.append((f"{path.parent.name}/{path.name}", payload.get("detail", payload)))
    return found


def envelope(detail: dict[str, Any], account: str | None = None, envelope_id: str | None = None) -> dict[str, Any]:
    """The EventBridge event the hub bus delivers for a CloudTrail record."""
    return {
        "version": "0",
        "id": envelope_id or str(uuid.uuid4()),
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
        "source": "aws." + str(detail.get("eventSource", "unknown")).split(".")[0],
        "account": account or str(detail.get("recipientAccountId", "")),
        "time": "2024-05-01T12:00:00Z",
        "region": str(detail.get("awsRegion", "")),
        "resources": [],
        "detail": detail,
    }


def retarget(relative: str, account: str, region: str, event_id: str | None = None) -> dict[str, Any]:
    """A real record moved to ``account``/``region`` (the record's own account id replaced everywhere)."""
    record = load(relative)
    original = str(record.get("recipientAccountId") or record.get("userIdentity", {}).get("accountId", ""))
    if original:
        record = json.loads(json.dumps(record).replace(original, account))
    record.update(recipientAccountId=account, awsRegion=region, eventID=event_id or str(uuid.uuid4()))
    return record


def vpc_created(account: str, region: str, vpc_id: str, cidr: str, event_id: str | None = None) -> dict[str, Any]:
    record = retarget(CREATE_VPC, account, region, event_id)
    record["requestParameters"]["cidrBlock"] = cidr
    vpc = record["responseElements"]["vpc"]
    vpc.update(vpcId=vpc_id, cidrBlock=cidr, ownerId=account)
    vpc["cidrBlockAssociationSet"]["items"][0]["cidrBlock"] = cidr
    return envelope(record)


def bucket_call(relative: str, account: str, region: str, bucket: str, event_id: str | None = None) -> dict[str, Any]:
    record = retarget(relative, account, region, event_id)
    record["requestParameters"]["bucketName"] = bucket
    return envelope(record)


def run_instances(account: str, region: str, instance_ids: list[str], event_id: str | None = None,
                  relative: str = RUN_INSTANCES) -> dict[str, Any]:
    record = retarget(relative, account, region, event_id)
    template = record["responseElements"]["instancesSet"]["items"][0]
    items = []
    for instance_id in instance_ids:
        item = copy.deepcopy(template)
        item["instanceId"] = instance_id
        items.append(item)
    record["responseElements"]["instancesSet"]["items"] = items
    return envelope(record)


def as_own_remediation(payload: dict[str, Any], session_name: str = "orgguard") -> dict[str, Any]:
    """The same call made by OrgGuard itself: CloudTrail names the assumed remediation role."""
    result = copy.deepcopy(payload)
    detail = result.get("detail", result)
    account = str(detail["recipientAccountId"])
    role_arn = f"arn:aws:iam::{account}:role/{REMEDIATION_ROLE_NAME}"
    detail["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEORGGUARD:{session_name}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{REMEDIATION_ROLE_NAME}/{session_name}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEORGGUARD",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEORGGUARD", "arn": role_arn,
                              "accountId": account, "userName": REMEDIATION_ROLE_NAME},
            "attributes": {"creationDate": "2024-05-01T12:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    detail["eventID"] = str(uuid.uuid4())
    return result
