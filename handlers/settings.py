"""OrgGuard settings: one TOML file, validated into typed objects, one clear message per problem.

The hub passes the validated settings to the Lambdas as JSON (``ORGGUARD_SETTINGS``); the Lambda
validates them again with the same code, so a hand-edited environment cannot slip through.

Sections: ``[organization]``, ``[notifications]`` and ``[exemptions]`` here; ``[policies.<id>]`` from each
guardrail's own settings module (``Guardrail.parse_settings``), so the file keeps its shape while each
guardrail owns its section; ``[rollout]`` and ``[hub]`` are deploy-time (``handlers.settings_deploy``).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from handlers.registry import guardrails, policy_ids
from handlers.settings_checks import (
    ACCOUNT_RE,
    MODES,
    NAME_RE,
    REGION_RE,
    TAG_KEY_RE,
    Checker,
    SettingsError,
    show,
)
from handlers.settings_deploy import Hub, Rollout, parse_hub, parse_rollout
from handlers.settings_organization import Organization, known_regions, parse_organization
from handlers.settings_policies import Policies

__all__ = [
    "ACCOUNT_RE",
    "MODES",
    "NAME_RE",
    "REGION_RE",
    "TAG_KEY_RE",
    "Exemptions",
    "Hub",
    "Notifications",
    "Organization",
    "Policies",
    "Rollout",
    "Settings",
    "SettingsError",
    "from_environment",
    "known_regions",
    "load",
    "settings_warnings",
    "validate",
]

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PREFIX_RE = re.compile(r"^[\x20-\x7e]{0,30}$")
# The most e-mails per account, guardrail and window: the window's counter lists the events it admitted.
STORM_LIMIT_MAX = 1000

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
class Exemptions:
    accounts: tuple[str, ...] = ()
    tag: str = "orgguard:exempt"
    until_tag: str = "orgguard:exempt-until"


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
        raw: dict[str, Any] = {name: asdict(getattr(self, name))
                               for name in ("organization", "rollout", "hub", "notifications", "exemptions")}
        raw["policies"] = {pid: asdict(section) for pid, section in self.policies.items()}
        raw["sandbox"] = self.sandbox
        return dict(_lists(raw))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def account_name(self, account: str) -> str:
        return self.organization.account_names.get(account, "")

    def with_mode(self, guardrail_id: str, mode: str) -> Settings:
        return replace(self, policies=self.policies.with_section(
            guardrail_id, replace(self.policies.section(guardrail_id), mode=mode)))


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


def settings_warnings(settings: Settings) -> list[str]:
    """What is valid but likely to hurt: one sentence per concern (orgguard prints them; nothing is refused)."""
    return [warning for g in guardrails()
            for warning in g.settings_warnings(settings.policies.section(g.id), settings.organization)]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict) and k not in ("account_names",):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def _notifications(raw: dict[str, Any], c: Checker) -> Notifications:
    n_raw = c.table(raw.get("notifications"), "notifications")
    c.unknown(n_raw, "notifications", set(Notifications.__dataclass_fields__))
    prefix = c.string(n_raw, "notifications", "subject_prefix", "[OrgGuard]",
                      PREFIX_RE, "must be at most 30 printable ASCII characters")
    notifications = Notifications(
        emails=c.strings(n_raw, "notifications", "emails", [], EMAIL_RE, "must be an e-mail address"),
        subject_prefix=prefix,
        notify_compliant=c.boolean(n_raw, "notifications", "notify_compliant", False),
        storm_limit=c.integer(n_raw, "notifications", "storm_limit", Notifications.storm_limit, 1, STORM_LIMIT_MAX),
        storm_window_minutes=c.integer(n_raw, "notifications", "storm_window_minutes",
                                       Notifications.storm_window_minutes, 1, 1440),
    )

    return notifications


def _policies(raw: dict[str, Any], c: Checker) -> Policies:
    p_raw = c.table(raw.get("policies"), "policies")
    c.unknown(p_raw, "policies", set(policy_ids()))
    sections = {}
    for entry in guardrails():
        key = f"policies.{entry.id}"
        sections[entry.id] = entry.parse_settings(c.table(p_raw.get(entry.id), key), c, key)
    return Policies(sections)


def _exemptions(raw: dict[str, Any], c: Checker) -> Exemptions:
    account_rule = "must be a 12-digit AWS account id, as a quoted string"
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

    return exemptions


def validate(raw: Any, source: str = "settings", with_defaults: bool = True, *,
             botocore_regions: bool = True) -> Settings:
    """Validate a raw mapping (from TOML or JSON) into ``Settings``; raise ``SettingsError`` with all problems.

    ``with_defaults`` (or ``sandbox = true`` in ``raw``) fills what ``raw`` leaves out from ``DEFAULTS``, the
    sandbox organization; otherwise every ``REQUIRED`` key must be set. ``botocore_regions`` checks regions
    against ``known_regions()``; without it only their shape is checked.
    """
    c = Checker()
    if not isinstance(raw, dict):
        raise SettingsError([f"(top level) = {show(raw)}: must be a table"], source)
    sandbox = raw.get("sandbox", False)
    if not isinstance(sandbox, bool):
        c.problem("sandbox", sandbox, "must be true or false (true: what the file leaves out comes from the "
                                      "built-in sandbox organization)")
        sandbox = False
    if with_defaults or sandbox:
        raw = _merge(DEFAULTS, raw)
    else:
        c.required(raw, REQUIRED)
    c.unknown(raw, "(top level)", {"sandbox", "organization", "rollout", "hub", "notifications", "policies",
                                   "exemptions"})
    settings = Settings(parse_organization(raw, c, botocore_regions), parse_rollout(raw.get("rollout"), c),
                        parse_hub(raw.get("hub"), c), _notifications(raw, c), _policies(raw, c),
                        _exemptions(raw, c), sandbox)
    if c.problems:
        raise SettingsError(c.problems, source)
    return settings


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
