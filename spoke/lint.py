"""Parse and lint a rendered spoke template with cfn-lint (the same checks ``orgguard synth`` runs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.decode.decode import decode_str


class TemplateParseError(ValueError):
    """The text is not a CloudFormation template cfn-lint can read."""


def parse_template(text: str) -> dict[str, Any]:
    """The template as data, short-form tags (``!Sub``) expanded to their ``Fn::`` form."""
    template, errors = decode_str(text)
    if errors or template is None:
        reasons = "; ".join(str(error) for error in errors) or "empty template"
        raise TemplateParseError(f"cannot parse the template: {reasons}")
    return dict(template)


def lint_template(text: str, regions: Iterable[str]) -> list[str]:
    """cfn-lint's findings (errors and warnings) in every region the template deploys to, one line each."""
    matches = lint(text, config=ManualArgs(regions=sorted(set(regions))))
    return [f"{match.rule.id} {match.message} (line {match.linenumber})" for match in matches]
