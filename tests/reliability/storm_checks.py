"""Storm control seen from the admins' inbox after a burst through the sandbox path (``test_sandbox_paths``)."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from handlers import storm
from handlers.contract import TABLE_PARTITION_KEY
from sandbox.world.digest_run import digest_once

from .load import Burst
from .sandbox_world import Sandbox

EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_storm_control(sandbox: Sandbox, burst: Burst, audit: dict[str, dict[str, Any]]) -> None:
    """At most ``storm_limit`` e-mails per account x guardrail window, the rest in one digest per window sent
    once the window has ended (the digest schedule is fired past the windows' end), and every governed event
    in exactly one e-mail or digest."""
    notifications = sandbox.settings.notifications
    windows = {audit[e.event_id]["storm_window"] for e in burst.forwarded}
    last_end = max(storm.parse_window_key(w)[2] for w in windows) + notifications.storm_window_minutes * 60
    mails = sandbox.mailbox.collect()
    assert not [m for m in mails if m.attributes.get("outcome") == "digest"], "no digest before the window ends"
    ran = digest_once(sandbox.hub, sandbox.runner, max(last_end, time.time()) + 60)
    mails += sandbox.mailbox.collect()
    forwarded = {e.event_id for e in burst.forwarded}
    # One record per event and guardrail (a CreateBucket has two: "<id>" and "<id>#s3-public-access"); every
    # record with a notice is in exactly one e-mail or digest.
    noticed = {key: item for key, item in audit.items()
               if key.split("#", 1)[0] in forwarded and item.get("notification") in ("sent", "digest")}
    mentions: Counter[str] = Counter()
    per_window: Counter[tuple[str, str]] = Counter()
    for mail in mails:
        ids = set(EVENT_ID.findall(mail.body)) & forwarded
        mentions.update(ids)
        if mail.attributes.get("outcome") == "digest":
            per_window["digest", mail.subject] += 1
            assert len(mail.subject) <= 99 and ": digest of " in mail.subject
            assert f"digest of {len(ids)} " in mail.subject, "the subject counts what the digest lists"
        else:
            (event_id,) = ids
            record = audit.get(f"{event_id}#{mail.attributes.get('policy', '')}") or audit[event_id]
            per_window["e-mail", record["storm_window"]] += 1
    assert mentions == Counter(key.split("#", 1)[0] for key in noticed), "every notice in one e-mail or digest"
    assert set(mentions) == forwarded, "every governed event was told"
    assert max(n for (kind, _), n in per_window.items() if kind == "e-mail") <= notifications.storm_limit
    folded_windows = {item["storm_window"] for item in noticed.values() if item["notification"] == "digest"}
    assert folded_windows and sorted(ran["sent"]) == sorted(folded_windows), "one digest per window that folded"
    assert all(n == 1 for (kind, _), n in per_window.items() if kind == "digest")
    assert sum(1 for m in mails if m.attributes.get("outcome") == "digest") == len(folded_windows)
    assert digest_once(sandbox.hub, sandbox.runner, max(last_end, time.time()) + 120)["sent"] == []
    assert sandbox.mailbox.collect() == [], "a digest goes out once"
    start_new_storm_windows(sandbox)


def start_new_storm_windows(sandbox: Sandbox) -> None:
    """The engine's windows follow the real clock and a test cannot wait for the next one: the counters of this
    module's windows are removed, as if they had ended, so later tests start with every e-mail allowed."""
    dynamodb = sandbox.hub.client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=sandbox.settings.hub.table_name):
        for item in page["Items"]:
            if item[TABLE_PARTITION_KEY]["S"].startswith(storm.KEY_PREFIX):
                dynamodb.delete_item(TableName=sandbox.settings.hub.table_name,
                                     Key={TABLE_PARTITION_KEY: item[TABLE_PARTITION_KEY]})
