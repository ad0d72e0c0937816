"""Where moto's CloudFormation resolves an attribute to another value than AWS's.

- ``AWS::Logs::LogGroup`` ``Fn::GetAtt Arn``: AWS returns the ARN with ``:*`` appended
  (``arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*``, CloudFormation's resource reference), so a policy built from it
  (the CDK's ``grant_write``) covers the group's streams. moto returns it without the suffix, and with IAM enforced
  the Lambdas could then not write their logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_saved: dict[str, Callable[..., Any]] = {}


def install() -> None:
    from moto.logs.models import LogGroup

    if "LogGroup" in _saved:
        return
    original = LogGroup.get_cfn_attribute
    _saved["LogGroup"] = original

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" else value

    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.logs.models import LogGroup

    original = _saved.pop("LogGroup", None)
    if original is not None:
        LogGroup.get_cfn_attribute = original  # type: ignore[method-assign]
