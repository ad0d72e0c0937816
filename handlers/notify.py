"""Notifications: plain text an admin can read on a phone, rendered by Jinja2, published to SNS.

Templates live in ``handlers/templates`` and can be overridden by files of the same name in the
directory named by ``ORGGUARD_TEMPLATE_DIR``. The first line a template renders is the subject.
Jinja2 is imported only when something is rendered (Lambda cold start stays at ``import boto3``).
Values are data, never template code: a bucket named ``{{ 7*7 }}`` is shown as such.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handlers.contract import ENV_TEMPLATE_DIR
from handlers.guardrails.base import Guardrail
from handlers.outcome_text import short
from handlers.registry import guardrails

TEMPLATE_DIR = Path(__file__).parent / "templates"  # the parts every e-mail shares, and the notices
GUARDRAIL_TEMPLATE_SUFFIX = ".txt.j2"
SUBJECT_LIMIT = 99  # Publish: "less than 100 characters"
# Publish: the message body and its attributes together at most 256 KiB (bytes, not characters).
MESSAGE_LIMIT_BYTES = 262_144
CUT_NOTE = ("\n\n[OrgGuard cut this message at {kept:,} of its {total:,} bytes to fit SNS's limit of "
            "262,144 bytes for a message and its attributes; the full record is in the audit table.]\n")


def clean_subject(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """SNS e-mail subjects: printable ASCII only, no line breaks, fewer than 100 characters, not empty."""
    # Whitespace first: line breaks and tabs become spaces, not "?" (they are not printable either).
    spaced = re.sub(r"\s+", " ", text)
    collapsed = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in spaced).strip()
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - 3].rstrip() + "..."
    return collapsed or "OrgGuard notification"


ELLIPSIS = "..."  # the project's subjects are ASCII (clean_subject); SNS itself would take UTF-8
MIN_RESOURCE = 8  # a resource cut shorter than this says nothing: it is left out instead


def subject(prefix: str, account_label: str, region: str, resource_label: str, what: str,
            limit: int = SUBJECT_LIMIT) -> str:
    """A subject that still says where when it is long: ``prefix account region: resource what``.

    The prefix, account, region and ``what`` (what happened) are kept; the resource is cut in the middle with
    ``...`` (its start and its end, where ids differ, stay), or left out when there is no room for it."""
    def one_line(text: str) -> str:
        return " ".join(str(text).split())

    what, resource, account = one_line(what), one_line(resource_label), one_line(account_label)
    fixed = len(one_line(prefix)) + len(one_line(region)) + len(what) + 5 + min(len(resource), MIN_RESOURCE)
    if len(account) + fixed > limit:  # an account label longer than AWS's own names: cut it, keep the rest
        account = _middle_cut(account, max(MIN_RESOURCE, limit - fixed))
    head = " ".join(p for p in (one_line(prefix), account, one_line(region)) if p) + ":"
    room = limit - len(head) - len(what) - 2
    if not resource:
        return f"{head} {what}"
    if len(resource) > room:
        if room < MIN_RESOURCE:
            return f"{head} {what}"
        resource = _middle_cut(resource, room)
    return f"{head} {resource} {what}"


def _middle_cut(text: str, room: int) -> str:
    """``text`` in ``room`` characters: its start and its end (where ids differ) around ``...``."""
    if len(text) <= room:
        return text
    keep = max(0, room - len(ELLIPSIS))
    start = (keep * 2 + 2) // 3
    return text[:start] + ELLIPSIS + (text[len(text) - (keep - start):] if keep > start else "")


def template_name(guardrail: Guardrail) -> str:
    """The name a guardrail's e-mail template is rendered by (a file of that name in the user's template
    directory overrides the one next to the guardrail's module)."""
    return f"{guardrail.id}{GUARDRAIL_TEMPLATE_SUFFIX}"


def _guardrail_template(name: str) -> tuple[str, str, Callable[[], bool]] | None:
    if not name.endswith(GUARDRAIL_TEMPLATE_SUFFIX):
        return None
    found = next((g for g in guardrails() if template_name(g) == name), None)
    if found is None:
        return None
    path = found.template_path
    return path.read_text(encoding="utf-8"), str(path), lambda: True


class Renderer:
    def __init__(self, user_dir: str | None = None) -> None:
        self._user_dir = user_dir if user_dir is not None else os.environ.get(ENV_TEMPLATE_DIR, "")
        self._env: Any = None

    def _environment(self) -> Any:
        if self._env is None:
            import jinja2

            loaders: list[jinja2.BaseLoader] = []
            if self._user_dir:
                loaders.append(jinja2.FileSystemLoader(self._user_dir))
            loaders.append(jinja2.FileSystemLoader(str(TEMPLATE_DIR)))
            loaders.append(jinja2.FunctionLoader(_guardrail_template))
            self._env = jinja2.Environment(
                loader=jinja2.ChoiceLoader(loaders),
                undefined=jinja2.StrictUndefined,
                autoescape=False,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
            )
            self._env.globals["subject"] = subject
            self._env.filters["outcome_words"] = short
        return self._env

    def render(self, name: str, context: dict[str, Any]) -> tuple[str, str]:
        text = self._environment().get_template(name).render(**context)
        subject, _, body = text.partition("\n")
        return clean_subject(subject), body.strip("\n") + "\n"


def attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    """Bytes SNS counts for message attributes: each name, data type and value."""
    return sum(len(name.encode()) + len(str(value.get("DataType", "")).encode())
               + len(str(value.get("StringValue", "")).encode()) for name, value in attributes.items())


def fit_body(body: str, attributes: dict[str, dict[str, str]], limit: int = MESSAGE_LIMIT_BYTES) -> str:
    """The body, cut on a character boundary so that its UTF-8 bytes and the attributes fit ``limit``,
    saying so at its end; unchanged when it fits."""
    encoded = body.encode()
    room = limit - attributes_size(attributes)
    if len(encoded) <= room:
        return body
    note_room = len(CUT_NOTE.format(kept=len(encoded), total=len(encoded)).encode())
    kept = encoded[: max(0, room - note_room)].decode("utf-8", errors="ignore")
    return kept + CUT_NOTE.format(kept=len(kept.encode()), total=len(encoded))


def message_attributes(account: str, policy: str, outcome: str, severity: str) -> dict[str, dict[str, str]]:
    """Attributes for SNS filter policies; SNS rejects empty string values, so use a dash."""
    values = {"account": account, "policy": policy, "outcome": outcome, "severity": severity}
    return {k: {"DataType": "String", "StringValue": (v or "-")[:256]} for k, v in values.items()}


class Notifier:
    def __init__(self, sns_client: Any, topic_arn: str, renderer: Renderer | None = None) -> None:
        self._sns = sns_client
        self.topic_arn = topic_arn
        self.renderer = renderer or Renderer()

    @property
    def sns(self) -> Any:
        """The topic's client (the sweep probes the topic with it before its first summary)."""
        return self._sns

    def publish(self, subject: str, body: str, attributes: dict[str, dict[str, str]]) -> str:
        response = self._sns.publish(TopicArn=self.topic_arn, Subject=clean_subject(subject),
                                     Message=fit_body(body, attributes), MessageAttributes=attributes)
        return str(response.get("MessageId", ""))
