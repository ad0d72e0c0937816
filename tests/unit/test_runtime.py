"""The one runtime factory and the warm-Lambda holder (no AWS calls: building clients makes none)."""

from __future__ import annotations

import boto3

from handlers.admin_groups import AdminGroupFinder
from handlers.audit import lease_for
from handlers.runtime import RuntimeHolder, build_runtime
from handlers.settings import validate

SESSION = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")


def test_build_runtime_follows_the_settings() -> None:
    settings = validate({"hub": {"lambda_timeout_seconds": 120, "audit_retention_days": 30}})
    rt = build_runtime(settings, SESSION, topic="arn:aws:sns:eu-west-1:111111111111:t")
    assert rt.audit is not None and rt.audit.lease_seconds == lease_for(120)
    assert rt.audit.table_name == settings.hub.table_name and rt.region == "eu-west-1"
    assert rt.notifier is not None and rt.notifier.topic_arn == "arn:aws:sns:eu-west-1:111111111111:t"
    assert isinstance(rt.admin_groups, AdminGroupFinder)


def test_build_runtime_without_audit_or_topic() -> None:
    rt = build_runtime(validate({}), SESSION, region="us-east-2", table="other", audit=False)
    assert rt.audit is None and rt.notifier is None and rt.region == "us-east-2"


def test_each_runtime_has_its_own_admin_group_cache() -> None:
    settings = validate({})
    assert build_runtime(settings, SESSION).admin_groups is not build_runtime(settings, SESSION).admin_groups


def test_holder_builds_once_until_reset() -> None:
    built: list[object] = []

    def build() -> object:
        built.append(object())
        return built[-1]

    holder: RuntimeHolder[object] = RuntimeHolder(build)
    first = holder.get()
    assert holder.get() is first and len(built) == 1
    holder.reset()
    assert holder.get() is not first and len(built) == 2
