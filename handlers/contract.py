"""Names shared by the Lambda code and the infrastructure that runs it (hub stack, sandbox, CLI).

The hub stack sets these environment variables and creates the table with this key schema; the handlers
read them. Keeping them in one place means the two cannot disagree.
"""

ENV_SETTINGS = "ORGGUARD_SETTINGS"  # validated settings as JSON (handlers.settings.Settings.to_json())
ENV_AUDIT_TABLE = "ORGGUARD_AUDIT_TABLE"  # DynamoDB table name
ENV_TOPIC_ARN = "ORGGUARD_TOPIC_ARN"  # SNS topic for notifications
ENV_POLICY = "ORGGUARD_POLICY"  # the policy id a Lambda serves (informational; the module knows it)
ENV_TEMPLATE_DIR = "ORGGUARD_TEMPLATE_DIR"  # optional directory of user templates overriding handlers/templates
ENV_RECONCILE_QUEUE_URL = "ORGGUARD_RECONCILE_QUEUE_URL"  # fan-out queue of the scheduled reconcile

TABLE_PARTITION_KEY = "pk"  # string
TABLE_TTL_ATTRIBUTE = "expires_at"  # epoch seconds
TABLE_ACCOUNT_INDEX = "by-account"  # GSI: partition "account" (S), sort "time" (S, ISO-8601 UTC)
TABLE_ACCOUNT_INDEX_PARTITION = "account"
TABLE_ACCOUNT_INDEX_SORT = "time"

CANARY_SOURCE = "orgguard.canary"  # detail source of onboarding canary events
CANARY_DETAIL_TYPE = "OrgGuard Canary"

HUB_HANDLER_ROLE_NAME = "OrgGuardHubHandler"  # the hub Lambdas' role; the spoke trusts exactly this ARN
CANARY_RULE_NAME = "orgguard-canary"  # spoke rule forwarding canary events to the hub bus
FORWARD_DLQ_NAME = "orgguard-forward-dlq"  # spoke queue holding events the hub bus did not accept
FORWARD_DLQ_ALARM_NAME = "orgguard-forward-dlq-not-empty"  # spoke alarm on that queue (no actions; see status)
HUB_DLQ_OUTPUT_PREFIX = "DlqUrl"  # every hub queue that holds lost work is a stack output DlqUrl... (its URL)

REMEDIATION_ROLE_NAME = "OrgGuardRemediation"  # the member role the hub assumes; its own calls are never acted on
FORWARDER_ROLE_NAME = "OrgGuardForwarder"  # the member role EventBridge forwards to the hub bus with
FORWARD_RULE_NAME = "orgguard-forward"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
EXEMPT_TAG_ALL = "all"  # the exemption tag's value that exempts a resource from every guardrail
