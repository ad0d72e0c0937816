"""The ``[organization]`` section: the accounts, regions and OUs OrgGuard governs, validated against the regions
botocore knows (loaded once, on first use)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from handlers.settings_checks import ACCOUNT_RE, REGION_RE, Checker

OU_RE = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
ORG_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


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


def _region_rule(botocore_regions: bool) -> tuple[str, re.Pattern[str]]:
    if botocore_regions:
        return f"must be a region botocore knows: {', '.join(known_regions())}", _known_region_pattern()
    return "must be an AWS region name such as 'us-east-1'", REGION_RE


def parse_organization(raw: dict[str, Any], c: Checker, botocore_regions: bool) -> Organization:
    account_rule = "must be a 12-digit AWS account id, as a quoted string"
    region_rule, region_re = _region_rule(botocore_regions)
    org_raw = c.table(raw.get("organization"), "organization")
    c.unknown(org_raw, "organization", {f for f in Organization.__dataclass_fields__})
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
    _operator_roles(organization, c)
    return organization


def _operator_roles(organization: Organization, c: Checker) -> None:
    hub_account = organization.hub_account
    for index, arn in enumerate(organization.operator_roles):
        if "," in arn:
            c.problem(f"organization.operator_roles[{index}]", arn,
                      "must not contain ',' (the spoke template passes the list as one comma-separated string)")
        elif hub_account and arn.split(":")[4] != hub_account:
            c.problem(f"organization.operator_roles[{index}]", arn,
                      f"must be a role in the hub account {hub_account}: OrgGuardRemediation trusts only the hub")
