"""OrgGuard settings: one TOML file, validated into typed objects, one clear message per problem.

The hub passes the validated settings to the Lambdas as JSON (``ORGGUARD_SETTINGS``); the Lambda
validates them again with the same code, so a hand-edited environment cannot slip through.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from typing import Any

from handlers.registry import POLICIES_BY_ID, policy_ids

MODES = ("enforce", "report", "off")
ALGORITHMS = ("aws:kms", "AES256")
# The values of botocore's S3 ``EncryptionType`` enum that block something ("NONE" blocks nothing: an empty list
# says that here). Only SSE-C can be blocked today.
BLOCKABLE_ENCRYPTION_TYPES = ("SSE-C",)
ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
OU_RE = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
ORG_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
KMS_KEY_RE = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9{}-]+:[0-9{}a-z]+:(key|alias)/[\w/{}:.-]+|alias/[\w/{}:.-]+|"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
ADMIN_GROUP_KEY_RE = re.compile(r"^\d{12}/[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d/vpc-[0-9a-f]{8,17}$")
SCHEDULE_RE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$")
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$", re.UNICODE)

# The most e-mails per account, guardrail and window: the window's counter lists the events it admitted.
STORM_LIMIT_MAX = 1000
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)

# The embedded AWS (moto) uses these account ids unless the sandbox says otherwise.
DEFAULT_MANAGEMENT_ACCOUNT = "123456789012"

# What a file must say itself unless it asks for the sandbox defaults (``sandbox = true``): the key and what
# to put there. These name the real organization; a default for them would point at the sandbox's accounts.
REQUIRED: dict[str, str] = {
    "organization.management_account": "the 12-digit id of the management account (or of the delegated "
                                       "StackSets administrator), quoted: management_account = \"111111111111\"",
    "organization.hub_account": "the 12-digit id of the account that runs the hub, quoted: "
                                "hub_account = \"222222222222\"",
    "organization.hub_region": "the region of the hub: hub_region = \"us-east-1\"",
    "organization.regions": "the governed regions: regions = [\"us-east-1\", \"eu-west-1\"]",
    "organization.target_ous": "the OUs (or the root id) whose accounts get the spoke: "
                               "target_ous = [\"ou-abcd-11111111\"]",
    "notifications.emails": "who gets OrgGuard's e-mails: emails = [\"cloud-admins@example.com\"] "
                            "([] for nobody)",
}
NO_FILE = ("no settings file: pass --config FILE (start from orgguard.example.toml: copy it and fill in your "
           "organization); the built-in sandbox defaults are only for demo and replay")


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Every region botocore knows, in every partition, sorted; loaded once, on first use.

    From botocore's bundled ``partitions.json`` (the data its endpoint rulesets resolve regions with), not
    ``endpoints.json`` / ``Session.get_available_regions``: partitions.json lists every commercial, China,
    GovCloud and ISO region of endpoints.json and the newest ones endpoints.json does not list yet
    (botocore 1.44: me-west-1, sa-west-1). Its ``*-global`` pseudo regions are left out.
    """
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("partitions")
    return tuple(sorted(name for partition in data["partitions"] for name in partition["regions"]
                        if not name.endswith("-global")))


@functools.cache
def _known_region_pattern() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(name) for name in known_regions()))


class SettingsError(ValueError):
    """Raised with every problem found; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "settings") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Organization:
    management_account: str
    hub_account: str
    hub_region: str
    regions: tuple[str, ...]
    target_ous: tuple[str, ...]
    include_management_account: bool = False
    organization_id: str = ""
    home_region: str = ""
    operator_roles: tuple[str, ...] = ()
    account_names: dict[str, str] = field(default_factory=dict)

    @property
    def spoke_home_region(self) -> str:
        """Where the spoke creates its account-global resources (IAM roles), once per account."""
        if self.home_region:
            return self.home_region
        return self.hub_region if self.hub_region in self.regions else self.regions[0]


@dataclass(frozen=True)
class Rollout:
    stackset_name: str = "orgguard-spoke"  # the rules, the DLQ and its alarm, in every governed region
    global_stackset_name: str = "orgguard-spoke-global"  # the account-global roles, in the home region only
    management_stack_name: str = "orgguard-spoke"
    management_global_stack_name: str = "orgguard-spoke-global"
    call_as: str = "SELF"
    region_concurrency: str = "PARALLEL"
    max_concurrent_percentage: int = 100
    failure_tolerance_percentage: int = 10
    member_access_role: str = "OrganizationAccountAccessRole"
    hub_access_role: str = "OrganizationAccountAccessRole"
    canary_timeout_seconds: int = 120


@dataclass(frozen=True)
class Hub:
    stack_name: str = "OrgGuardHub"
    bus_name: str = "orgguard"
    topic_name: str = "orgguard-alerts"
    table_name: str = "orgguard-audit"
    audit_retention_days: int = 400
    log_retention_days: int = 90
    reconcile_schedule: str = "rate(1 day)"
    lambda_memory_mb: int = 256
    lambda_timeout_seconds: int = 120
    reconcile_max_concurrency: int = 5  # reconcile workers at once (SQS event source ScalingConfig: 2-1000)


@dataclass(frozen=True)
class Notifications:
    emails: tuple[str, ...] = ()
    subject_prefix: str = "[OrgGuard]"
    notify_compliant: bool = False
    # Storm control (handlers.storm): at most storm_limit e-mails per account and guardrail in a window of
    # storm_window_minutes; the window's further outcomes go out in one digest e-mail when it ends.
    storm_limit: int = 10
    storm_window_minutes: int = 15


@dataclass(frozen=True)
class VpcCreated:
    mode: str = "enforce"


@dataclass(frozen=True)
class S3Encryption:
    mode: str = "enforce"
    algorithm: str = "aws:kms"
    kms_key: str = ""
    bucket_key: bool = True
    # Upload encryption types the bucket must refuse; AWS's default for new general-purpose buckets since
    # April 2026. Empty: the standard allows SSE-C uploads (a bucket that blocks them still meets it).
    blocked_encryption_types: tuple[str, ...] = ("SSE-C",)
    # A bucket tagged with this key and the value "AES256" is held to the AES256 floor (ELB access-log buckets
    # cannot use SSE-KMS); "" turns the tag off.
    standard_tag: str = "orgguard:s3-encryption"

    def key_for(self, account: str, region: str) -> str:
        return self.kms_key.replace("{account}", account).replace("{region}", region)

    @property
    def key_needs_region(self) -> bool:
        return "{region}" in self.kms_key


@dataclass(frozen=True)
class AdminSecurityGroup:
    name: str = ""
    tag: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # "ACCOUNT/REGION/vpc-..." -> sg id

    def explicit(self, account: str, region: str, vpc_id: str) -> str | None:
        """A group id named for this VPC: a security group belongs to one VPC in one region."""
        return self.ids.get(f"{account}/{region}/{vpc_id}")


@dataclass(frozen=True)
class Ec2Compliance:
    mode: str = "enforce"
    required_tags: dict[str, str] = field(default_factory=lambda: {"Owner": "unassigned", "CostCenter": "unknown"})
    admin_security_group: AdminSecurityGroup = field(default_factory=lambda: AdminSecurityGroup(name="administrators"))
    max_groups_per_interface: int = 5
    # Right after RunInstances EC2 may not show the instance yet (eventual consistency): for this long after
    # the event's time, "not found" means "retry later", not "gone".
    fresh_instance_window_seconds: int = 300


@dataclass(frozen=True)
class Exemptions:
    accounts: tuple[str, ...] = ()
    tag: str = "orgguard:exempt"
    until_tag: str = "orgguard:exempt-until"


@dataclass(frozen=True)
class Policies:
    vpc_created: VpcCreated = field(default_factory=VpcCreated)
    s3_encryption: S3Encryption = field(default_factory=S3Encryption)
    ec2_compliance: Ec2Compliance = field(default_factory=Ec2Compliance)

    def mode(self, policy_id: str) -> str:
        return str(getattr(self, policy_id.replace("-", "_")).mode)


@dataclass(frozen=True)
class Settings:
    organization: Organization
    rollout: Rollout = field(default_factory=Rollout)
    hub: Hub = field(default_factory=Hub)
    notifications: Notifications = field(default_factory=Notifications)
    policies: Policies = field(default_factory=Policies)
    exemptions: Exemptions = field(default_factory=Exemptions)
    sandbox: bool = False  # the file asked for the built-in sandbox defaults (``sandbox = true``)

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["policies"] = {pid: raw["policies"][pid.replace("-", "_")] for pid in policy_ids()}
        return _lists(raw)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def account_name(self, account: str) -> str:
        return self.organization.account_names.get(account, "")


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


DEFAULTS: dict[str, Any] = {
    "organization": {
        "management_account": DEFAULT_MANAGEMENT_ACCOUNT,
        "hub_account": "222222222222",
        "hub_region": "us-east-1",
        "regions": ["us-east-1", "eu-west-1"],
        "target_ous": [],
        "include_management_account": False,
        "organization_id": "",
        "home_region": "",
        "operator_roles": [],
        "account_names": {},
    },
    "notifications": {"emails": ["cloud-admins@example.com"]},
}


class _Checker:
    """Walks a raw mapping, collecting one message per problem (key, value, what is allowed)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.missing: set[str] = set()  # required keys already reported as missing: no second message

    def problem(self, key: str, value: Any, allowed: str) -> None:
        if key not in self.missing:
            self.problems.append(f"{key} = {_show(value)}: {allowed}")

    def required(self, raw: dict[str, Any]) -> None:
        """One message per ``REQUIRED`` key the file does not set, saying what to put there."""
        for key, what in REQUIRED.items():
            table, name = key.split(".")
            section = raw.get(table)
            if not isinstance(section, dict) or name not in section:
                self.missing.add(key)
                self.problems.append(f"{key}: missing; set {what}")

    def table(self, raw: Any, key: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(key, raw, "must be a table")
            return {}
        return raw

    def unknown(self, raw: dict[str, Any], key: str, known: set[str]) -> None:
        for name in sorted(set(raw) - known):
            self.problems.append(f"{key}.{name}: unknown key (allowed: {', '.join(sorted(known))})")

    def string(self, raw: dict[str, Any], key: str, name: str, default: str, pattern: re.Pattern[str] | None = None,
               allowed: str = "", choices: tuple[str, ...] = (), empty_ok: bool = True) -> str:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if not isinstance(value, str):
            self.problem(full, value, f"must be a string{'; ' + allowed if allowed else ''}")
            return default
        if choices and value not in choices:
            self.problem(full, value, f"must be one of {', '.join(repr(c) for c in choices)}")
            return default
        if value == "" and empty_ok:
            return value
        if value == "" or (pattern is not None and not pattern.fullmatch(value)):
            self.problem(full, value, allowed or "is not valid")
            return default
        return value

    def boolean(self, raw: dict[str, Any], key: str, name: str, default: bool) -> bool:
        value = raw.get(name, default)
        if not isinstance(value, bool):
            self.problem(f"{key}.{name}", value, "must be true or false")
            return default
        return value

    def integer(self, raw: dict[str, Any], key: str, name: str, default: int, low: int, high: int) -> int:
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{key}.{name}", value, f"must be an integer from {low} to {high}")
            return default
        if not low <= value <= high:
            self.problem(f"{key}.{name}", value, f"must be from {low} to {high}")
            return default
        return value

    def strings(self, raw: dict[str, Any], key: str, name: str, default: list[str], pattern: re.Pattern[str],
                allowed: str, non_empty: bool = False) -> tuple[str, ...]:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if not isinstance(value, list):
            self.problem(full, value, f"must be a list of strings, each {allowed}")
            return tuple(default)
        good = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not pattern.fullmatch(item):
                self.problem(f"{full}[{index}]", item, allowed)
            elif item in good:
                self.problem(f"{full}[{index}]", item, "is listed twice")
            else:
                good.append(item)
        if non_empty and not value:
            self.problem(full, value, "must list at least one")
        return tuple(good)

    def string_map(self, raw: dict[str, Any], key: str, name: str, default: dict[str, str],
                   key_pattern: re.Pattern[str], key_allowed: str,
                   value_pattern: re.Pattern[str] | None = None, value_allowed: str = "",
                   max_value: int = 256) -> dict[str, str]:
        value = raw.get(name, default)
        full = f"{key}.{name}"
        if not isinstance(value, dict):
            self.problem(full, value, "must be a table of strings")
            return dict(default)
        good: dict[str, str] = {}
        for k, v in value.items():
            if not key_pattern.fullmatch(k):
                self.problem(f"{full}.{k}", v, key_allowed)
            elif not isinstance(v, str) or len(v) > max_value:
                self.problem(f"{full}.{k}", v, f"must be a string of at most {max_value} characters")
            elif value_pattern is not None and not value_pattern.fullmatch(v):
                self.problem(f"{full}.{k}", v, value_allowed)
            else:
                good[k] = v
        return good


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


KMS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[^:]+):(?P<account>[^:]+):(?P<kind>key|alias)/.+$")


def _alias_arn_account(kms_key: str) -> str:
    """The literal account of an alias ARN ('' for anything else, or when the account is ``{account}``)."""
    match = KMS_ARN_RE.fullmatch(kms_key)
    if match and match["kind"] == "alias" and ACCOUNT_RE.fullmatch(match["account"]):
        return match["account"]
    return ""


def settings_warnings(settings: Settings) -> list[str]:
    """What is valid but likely to hurt: one sentence per concern (deploy.py prints them; nothing is refused)."""
    found = []
    s3 = settings.policies.s3_encryption
    match = KMS_ARN_RE.fullmatch(s3.kms_key)
    key = "policies.s3-encryption.kms_key"
    if match and match["kind"] == "key" and ACCOUNT_RE.fullmatch(match["account"]):
        found.append(f"{key} = {_show(s3.kms_key)} is a key of account {match['account']}: its key policy must let "
                     "every member account use it (kms:GenerateDataKey and kms:Decrypt for S3 on behalf of the "
                     "buckets' writers and readers), or uploads to the remediated buckets fail; "
                     "`deploy.py onboard` checks that OrgGuardRemediation can describe it")
    if match and REGION_RE.fullmatch(match["region"]):
        others = [r for r in settings.organization.regions if r != match["region"]]
        if others:
            found.append(f"{key} = {_show(s3.kms_key)} names a key in {match['region']} only; S3 needs the key in "
                         f"the bucket's region, so buckets in {', '.join(others)} would get a key they cannot use: "
                         "write {region} in its place")
    return found


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict) and k not in ("account_names",):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def validate(raw: Any, source: str = "settings", with_defaults: bool = True, *,
             botocore_regions: bool = True) -> Settings:
    """Validate a raw mapping (from TOML or JSON) into ``Settings``; raise ``SettingsError`` with all problems.

    ``with_defaults`` (or ``sandbox = true`` in ``raw``) fills what ``raw`` leaves out from ``DEFAULTS``, the
    sandbox organization; otherwise every ``REQUIRED`` key must be set. ``botocore_regions`` checks regions
    against ``known_regions()``; without it only their shape is checked.
    """
    c = _Checker()
    if not isinstance(raw, dict):
        raise SettingsError([f"(top level) = {_show(raw)}: must be a table"], source)
    sandbox = raw.get("sandbox", False)
    if not isinstance(sandbox, bool):
        c.problem("sandbox", sandbox, "must be true or false (true: what the file leaves out comes from the "
                                      "built-in sandbox organization)")
        sandbox = False
    if with_defaults or sandbox:
        raw = _merge(DEFAULTS, raw)
    else:
        c.required(raw)
    top_known = {"sandbox", "organization", "rollout", "hub", "notifications", "policies", "exemptions"}
    c.unknown(raw, "(top level)", top_known)

    org_raw = c.table(raw.get("organization"), "organization")
    c.unknown(org_raw, "organization", {f for f in Organization.__dataclass_fields__})
    account_rule = "must be a 12-digit AWS account id, as a quoted string"
    if botocore_regions:
        region_rule = f"must be a region botocore knows: {', '.join(known_regions())}"
        region_re = _known_region_pattern()
    else:
        region_rule, region_re = "must be an AWS region name such as 'us-east-1'", REGION_RE
    mgmt = c.string(org_raw, "organization", "management_account", "", ACCOUNT_RE, account_rule, empty_ok=False)
    hub_account = c.string(org_raw, "organization", "hub_account", "", ACCOUNT_RE, account_rule, empty_ok=False)
    hub_region = c.string(org_raw, "organization", "hub_region", "", region_re, region_rule, empty_ok=False)
    regions = c.strings(org_raw, "organization", "regions", [], region_re, region_rule, non_empty=True)
    home = c.string(org_raw, "organization", "home_region", "", region_re, region_rule)
    if home and regions and home not in regions:
        c.problem("organization.home_region", home, f"must be one of organization.regions ({', '.join(regions)})")
        home = ""
    organization = Organization(
        management_account=mgmt,
        hub_account=hub_account,
        hub_region=hub_region,
        regions=regions,
        target_ous=c.strings(org_raw, "organization", "target_ous", [], OU_RE,
                             "must be an OU id like 'ou-abcd-11111111' or a root id like 'r-abcd'"),
        include_management_account=c.boolean(org_raw, "organization", "include_management_account", False),
        organization_id=c.string(org_raw, "organization", "organization_id", "", ORG_ID_RE,
                                 "must be an organization id like 'o-a1b2c3d4e5'"),
        home_region=home,
        operator_roles=c.strings(org_raw, "organization", "operator_roles", [], ROLE_ARN_RE,
                                 "must be an IAM role ARN like 'arn:aws:iam::111111111111:role/Platform'"),
        account_names=c.string_map(org_raw, "organization", "account_names", {}, ACCOUNT_RE, account_rule),
    )

    for index, arn in enumerate(organization.operator_roles):
        if "," in arn:
            c.problem(f"organization.operator_roles[{index}]", arn,
                      "must not contain ',' (the spoke template passes the list as one comma-separated string)")
        elif hub_account and arn.split(":")[4] != hub_account:
            c.problem(f"organization.operator_roles[{index}]", arn,
                      f"must be a role in the hub account {hub_account}: OrgGuardRemediation trusts only the hub")
    ro = c.table(raw.get("rollout"), "rollout")
    c.unknown(ro, "rollout", set(Rollout.__dataclass_fields__))
    rollout = Rollout(
        stackset_name=c.string(ro, "rollout", "stackset_name", Rollout.stackset_name, NAME_RE,
                               "must be 1-64 letters, digits, '.', '_' or '-'", empty_ok=False),
        global_stackset_name=c.string(ro, "rollout", "global_stackset_name", Rollout.global_stackset_name, NAME_RE,
                                      "must be 1-64 letters, digits, '.', '_' or '-'", empty_ok=False),
        management_stack_name=c.string(ro, "rollout", "management_stack_name", Rollout.management_stack_name,
                                       NAME_RE, "must be 1-64 letters, digits, '.', '_' or '-'", empty_ok=False),
        management_global_stack_name=c.string(ro, "rollout", "management_global_stack_name",
                                              Rollout.management_global_stack_name, NAME_RE,
                                              "must be 1-64 letters, digits, '.', '_' or '-'", empty_ok=False),
        call_as=c.string(ro, "rollout", "call_as", "SELF", choices=("SELF", "DELEGATED_ADMIN")),
        region_concurrency=c.string(ro, "rollout", "region_concurrency", "PARALLEL",
                                    choices=("PARALLEL", "SEQUENTIAL")),
        max_concurrent_percentage=c.integer(ro, "rollout", "max_concurrent_percentage", 100, 1, 100),
        failure_tolerance_percentage=c.integer(ro, "rollout", "failure_tolerance_percentage", 10, 0, 100),
        member_access_role=c.string(ro, "rollout", "member_access_role", Rollout.member_access_role,
                                    re.compile(r"^[\w+=,.@-]{1,64}$"), "must be an IAM role name", empty_ok=False),
        hub_access_role=c.string(ro, "rollout", "hub_access_role", Rollout.hub_access_role,
                                 re.compile(r"^[\w+=,.@-]{0,64}$"), "must be an IAM role name or empty"),
        canary_timeout_seconds=c.integer(ro, "rollout", "canary_timeout_seconds", 120, 5, 900),
    )
    if rollout.global_stackset_name == rollout.stackset_name:
        c.problem("rollout.global_stackset_name", rollout.global_stackset_name,
                  "must differ from rollout.stackset_name (the roles and the rules are two StackSets)")
    if rollout.management_global_stack_name == rollout.management_stack_name:
        c.problem("rollout.management_global_stack_name", rollout.management_global_stack_name,
                  "must differ from rollout.management_stack_name (the roles and the rules are two stacks)")

    hub_raw = c.table(raw.get("hub"), "hub")
    c.unknown(hub_raw, "hub", set(Hub.__dataclass_fields__))
    name_rule = "must be 1-64 letters, digits, '.', '_' or '-'"
    hub = Hub(
        stack_name=c.string(hub_raw, "hub", "stack_name", Hub.stack_name,
                            re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$"),
                            "must start with a letter and hold only letters, digits and '-'", empty_ok=False),
        bus_name=c.string(hub_raw, "hub", "bus_name", Hub.bus_name, NAME_RE, name_rule, empty_ok=False),
        topic_name=c.string(hub_raw, "hub", "topic_name", Hub.topic_name, NAME_RE, name_rule, empty_ok=False),
        table_name=c.string(hub_raw, "hub", "table_name", Hub.table_name, NAME_RE, name_rule, empty_ok=False),
        audit_retention_days=c.integer(hub_raw, "hub", "audit_retention_days", Hub.audit_retention_days, 1, 3650),
        log_retention_days=c.integer(hub_raw, "hub", "log_retention_days", Hub.log_retention_days, 1, 3653),
        reconcile_schedule=c.string(hub_raw, "hub", "reconcile_schedule", Hub.reconcile_schedule, SCHEDULE_RE,
                                    "must be an EventBridge schedule like 'rate(1 day)' or 'cron(0 3 * * ? *)'",
                                    empty_ok=True),
        lambda_memory_mb=c.integer(hub_raw, "hub", "lambda_memory_mb", Hub.lambda_memory_mb, 128, 10240),
        lambda_timeout_seconds=c.integer(hub_raw, "hub", "lambda_timeout_seconds", Hub.lambda_timeout_seconds,
                                         10, 900),
        reconcile_max_concurrency=c.integer(hub_raw, "hub", "reconcile_max_concurrency",
                                            Hub.reconcile_max_concurrency, 2, 1000),
    )

    if hub.log_retention_days not in LOG_RETENTION_DAYS:
        c.problem("hub.log_retention_days", hub.log_retention_days,
                  f"must be one of CloudWatch Logs' retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    n_raw = c.table(raw.get("notifications"), "notifications")
    c.unknown(n_raw, "notifications", set(Notifications.__dataclass_fields__))
    prefix = c.string(n_raw, "notifications", "subject_prefix", "[OrgGuard]",
                      re.compile(r"^[\x20-\x7e]{0,30}$"), "must be at most 30 printable ASCII characters")
    notifications = Notifications(
        emails=c.strings(n_raw, "notifications", "emails", [], EMAIL_RE, "must be an e-mail address"),
        subject_prefix=prefix,
        notify_compliant=c.boolean(n_raw, "notifications", "notify_compliant", False),
        storm_limit=c.integer(n_raw, "notifications", "storm_limit", Notifications.storm_limit, 1, STORM_LIMIT_MAX),
        storm_window_minutes=c.integer(n_raw, "notifications", "storm_window_minutes",
                                       Notifications.storm_window_minutes, 1, 1440),
    )

    p_raw = c.table(raw.get("policies"), "policies")
    c.unknown(p_raw, "policies", set(POLICIES_BY_ID))
    mode_rule = MODES

    vraw = c.table(p_raw.get("vpc-created"), "policies.vpc-created")
    c.unknown(vraw, "policies.vpc-created", {"mode"})
    vpc = VpcCreated(mode=c.string(vraw, "policies.vpc-created", "mode", "enforce", choices=mode_rule))

    sraw = c.table(p_raw.get("s3-encryption"), "policies.s3-encryption")
    key = "policies.s3-encryption"
    c.unknown(sraw, key, set(S3Encryption.__dataclass_fields__))
    algorithm = c.string(sraw, key, "algorithm", "aws:kms", choices=ALGORITHMS)
    kms_key = c.string(sraw, key, "kms_key", "", KMS_KEY_RE,
                       "must be empty, a KMS key ARN, a key id or an alias like 'alias/org-s3' "
                       "({account} and {region} allowed)")
    if kms_key and algorithm != "aws:kms":
        c.problem(f"{key}.kms_key", kms_key, "may only be set when algorithm = 'aws:kms'")
    alias_account = _alias_arn_account(kms_key)
    if alias_account:
        alias = kms_key.split(":", 5)[5]
        c.problem(f"{key}.kms_key", kms_key,
                  f"S3 resolves an alias in the account of the request (the bucket owner's or writer's), not in "
                  f"account {alias_account}: use '{alias}' or 'arn:aws:kms:{{region}}:{{account}}:{alias}' for each "
                  "account's own key, or the key ARN of one shared key")
    if sraw.get("blocked_encryption_types") is not None and "NONE" in _as_list(sraw["blocked_encryption_types"]):
        c.problem(f"{key}.blocked_encryption_types", sraw["blocked_encryption_types"],
                  "'NONE' is S3's way to block nothing: write [] to allow SSE-C uploads")
        blocked: tuple[str, ...] = ()
    else:
        blocked = c.strings(sraw, key, "blocked_encryption_types", list(S3Encryption.blocked_encryption_types),
                            re.compile("^(" + "|".join(map(re.escape, BLOCKABLE_ENCRYPTION_TYPES)) + ")$"),
                            f"must be one of {', '.join(repr(t) for t in BLOCKABLE_ENCRYPTION_TYPES)} "
                            "([] allows SSE-C uploads)")
    s3 = S3Encryption(
        mode=c.string(sraw, key, "mode", "enforce", choices=mode_rule),
        algorithm=algorithm,
        kms_key=kms_key,
        bucket_key=c.boolean(sraw, key, "bucket_key", True),
        blocked_encryption_types=tuple(sorted(blocked)),
        standard_tag=c.string(sraw, key, "standard_tag", S3Encryption.standard_tag, TAG_KEY_RE,
                              "must be a tag key, or empty to turn the tag off"),
    )

    eraw = c.table(p_raw.get("ec2-compliance"), "policies.ec2-compliance")
    key = "policies.ec2-compliance"
    c.unknown(eraw, key, set(Ec2Compliance.__dataclass_fields__))
    tags = c.string_map(eraw, key, "required_tags", dict(Ec2Compliance().required_tags), TAG_KEY_RE,
                        "tag keys must be 1-128 characters of letters, digits, spaces and _.:/=+-@")
    for tag_key in tags:
        if tag_key.lower().startswith("aws:"):
            c.problem(f"{key}.required_tags.{tag_key}", tags[tag_key], "keys starting with 'aws:' are reserved")
    sg_raw = c.table(eraw.get("admin_security_group", {"name": "administrators"}), f"{key}.admin_security_group")
    c.unknown(sg_raw, f"{key}.admin_security_group", {"name", "tag", "ids"})
    sg = AdminSecurityGroup(
        name=c.string(sg_raw, f"{key}.admin_security_group", "name", "",
                      re.compile(r"^[\x20-\x7e]{1,255}$"), "must be a security group name"),
        tag=c.string_map(sg_raw, f"{key}.admin_security_group", "tag", {}, TAG_KEY_RE, "must be a tag key"),
        ids=c.string_map(sg_raw, f"{key}.admin_security_group", "ids", {}, ADMIN_GROUP_KEY_RE,
                         "keys must be 'ACCOUNT/REGION/vpc-...' like '111111111111/eu-west-1/vpc-0abc1234': a "
                         "security group belongs to one VPC in one region, so an id cannot apply to a whole "
                         "account ('ACCOUNT') or to a VPC id without its region ('ACCOUNT/vpc-...')",
                         SG_ID_RE, "must be a group id like 'sg-0123abcd'"),
    )
    if not (sg.name or sg.tag or sg.ids):
        c.problem(f"{key}.admin_security_group", sg_raw, "must set name, tag or ids to find the group")
    ec2 = Ec2Compliance(
        mode=c.string(eraw, key, "mode", "enforce", choices=mode_rule),
        required_tags=tags,
        admin_security_group=sg,
        max_groups_per_interface=c.integer(eraw, key, "max_groups_per_interface", 5, 1, 16),
        fresh_instance_window_seconds=c.integer(eraw, key, "fresh_instance_window_seconds",
                                                Ec2Compliance.fresh_instance_window_seconds, 0, 3600),
    )

    x_raw = c.table(raw.get("exemptions"), "exemptions")
    # An empty key cannot be a resource tag: the exemption would silently never match.
    exempt_rule = "must be a tag key: 1-128 letters, digits, spaces and _.:/=+-@ (not empty)"
    c.unknown(x_raw, "exemptions", set(Exemptions.__dataclass_fields__))
    exemptions = Exemptions(
        accounts=c.strings(x_raw, "exemptions", "accounts", [], ACCOUNT_RE, account_rule),
        tag=c.string(x_raw, "exemptions", "tag", "orgguard:exempt", TAG_KEY_RE, exempt_rule, empty_ok=False),
        until_tag=c.string(x_raw, "exemptions", "until_tag", "orgguard:exempt-until", TAG_KEY_RE, exempt_rule,
                           empty_ok=False),
    )

    if c.problems:
        raise SettingsError(c.problems, source)
    return Settings(organization, rollout, hub, notifications, Policies(vpc, s3, ec2), exemptions, sandbox)


def load(path: str | None = None, sandbox_defaults: bool = True) -> Settings:
    """Load and validate a TOML file.

    With ``sandbox_defaults`` (demo, replay) what the file leaves out comes from the built-in sandbox
    organization, and no file means those defaults. Without (every command that touches a real account)
    there must be a file, and it must set every ``REQUIRED`` key itself unless it says ``sandbox = true``.
    """
    if path is None:
        if not sandbox_defaults:
            raise SettingsError([NO_FILE], "settings")
        return validate({"sandbox": True}, "built-in defaults")
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as error:
        raise SettingsError([f"file not found: {path}"], path) from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError([f"not valid TOML: {error}"], path) from error
    return validate(raw, path, with_defaults=sandbox_defaults)


def from_environment(variable: str = "ORGGUARD_SETTINGS") -> Settings:
    """The Lambda's settings: JSON in an environment variable, validated like the TOML file."""
    text = os.environ.get(variable)
    if not text:
        return validate({}, "built-in defaults")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError([f"{variable} is not valid JSON: {error}"], variable) from error
    # The regions were checked against botocore's list when the hub was deployed; the Lambda runtime's own
    # botocore may be older and not know a new region yet, so here only their shape is checked.
    return validate(raw, variable, with_defaults=False, botocore_regions=False)
