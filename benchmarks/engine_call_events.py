"""The CloudTrail records the API-call benchmark plays: bucket, Block Public Access, instance and VPC calls, made
against the embedded AWS so each names a resource that exists."""

from __future__ import annotations

from typing import Any

HUB, MEMBER, REGION = "222222222222", "333333333333", "us-east-1"

# --- The minimum calls per event, and why each one is needed --------------------------------------------


def _record(source: str, name: str, event_id: str, request: dict[str, Any],
            response: dict[str, Any] | None) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventSource": source, "eventName": name, "eventID": event_id,
            "eventTime": "2024-05-01T10:00:00Z", "awsRegion": REGION, "recipientAccountId": MEMBER,
            "userIdentity": {"type": "IAMUser", "accountId": MEMBER,
                             "arn": f"arn:aws:iam::{MEMBER}:user/dev"},
            "requestParameters": request, "responseElements": response}


def bucket_event(s3: Any, bucket: str, compliant: bool) -> dict[str, Any]:
    s3.create_bucket(Bucket=bucket)
    if compliant:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True,
            "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]})
    return _record("s3.amazonaws.com", "CreateBucket", f"bucket-{bucket}", {"bucketName": bucket}, None)


def public_access_event(s3: Any, bucket: str, name: str, flags_on: bool) -> dict[str, Any]:
    """A bucket with all four flags on, or none (moto gives a new bucket no configuration), and its event."""
    s3.create_bucket(Bucket=bucket)
    if flags_on:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True))
    if name == "PutBucketPolicy":
        s3.put_bucket_policy(Bucket=bucket, Policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                             f'"Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}}]}}')
    return _record("s3.amazonaws.com", name, f"{name}-{bucket}", {"bucketName": bucket}, None)


def make_vpcs(ec2: Any, count: int, admin_group: str) -> list[str]:
    subnets = []
    for _ in range(count):
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.create_security_group(GroupName=admin_group, Description="administrators", VpcId=vpc)
        subnets.append(ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"])
    return subnets


def run_instances_event(ec2: Any, subnets: list[str], instances: int, event_id: str) -> dict[str, Any]:
    """``instances`` untagged instances without the admin group, spread over the subnets' VPCs."""
    ids: list[str] = []
    for index, subnet in enumerate(subnets):
        share = instances // len(subnets) + (1 if index < instances % len(subnets) else 0)
        reservation = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=share,
                                        MaxCount=share, SubnetId=subnet)
        ids += [i["InstanceId"] for i in reservation["Instances"]]
    items = [{"instanceId": i} for i in ids]
    return _record("ec2.amazonaws.com", "RunInstances", event_id,
                   {"instancesSet": {"items": [{"minCount": instances, "maxCount": instances}]}},
                   {"instancesSet": {"items": items}})


def create_vpc_event(ec2: Any) -> dict[str, Any]:
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]
    return _record("ec2.amazonaws.com", "CreateVpc", f"vpc-{vpc['VpcId']}", {"cidrBlock": vpc["CidrBlock"]},
                   {"vpc": {"vpcId": vpc["VpcId"], "cidrBlock": vpc["CidrBlock"]}})


# --- The paths -------------------------------------------------------------------------------------------
