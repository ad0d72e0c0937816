"""Least privilege, shown: taking one action out of a policy, and listing what a policy grants."""

from __future__ import annotations

from sandbox.aws.iam.necessity import Asked, Need, granted_actions, without_action

POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetEncryptionConfiguration", "Resource": "*"},
    {"Sid": "Tags", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DescribeInstances"], "Resource": "*"},
    {"Sid": "Guard", "Effect": "Deny", "Action": "s3:GetEncryptionConfiguration", "Resource": "arn:aws:s3:::x"},
]}


def test_a_single_action_statement_is_dropped_and_a_deny_is_kept() -> None:
    left = without_action(POLICY, "s3:GetEncryptionConfiguration")
    assert [s["Sid"] for s in left["Statement"]] == ["Tags", "Guard"]
    assert POLICY["Statement"][0]["Sid"] == "Read"  # the original is not changed


def test_an_action_is_taken_out_of_a_list_case_insensitively() -> None:
    left = without_action(POLICY, "EC2:createtags")
    assert left["Statement"][1]["Action"] == "ec2:DescribeInstances"


def test_granted_actions_lists_allowed_actions_once_in_order() -> None:
    assert granted_actions(POLICY) == ["s3:GetEncryptionConfiguration", "ec2:CreateTags", "ec2:DescribeInstances"]


def test_a_need_names_the_call_it_would_refuse() -> None:
    asked = Asked("PutBucketEncryption", "s3:PutEncryptionConfiguration", "arn:aws:s3:::reports",
                  "arn:aws:sts::111122223333:assumed-role/OrgGuardRemediation/hub", {})
    assert Need("s3:PutEncryptionConfiguration", asked).describe() == (
        "s3:PutEncryptionConfiguration: without it PutBucketEncryption on arn:aws:s3:::reports by "
        "arn:aws:sts::111122223333:assumed-role/OrgGuardRemediation/hub is refused")
    assert not Need("kms:DescribeKey", None).needed
