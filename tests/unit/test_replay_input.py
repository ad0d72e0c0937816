"""The replay input reader: every shape CloudTrail data comes in, and every way a file can be wrong."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sandbox.replay.input import events_from_text, read_events

RECORD = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "CreateBucket",
          "awsRegion": "us-east-1", "recipientAccountId": "111111111111", "eventID": "e-1",
          "requestParameters": {"bucketName": "b1"}}
ENVELOPE = {"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
            "account": "111111111111", "region": "us-east-1", "detail": {**RECORD, "eventID": "e-2"}}


def ids(result) -> list[str]:
    return [e.payload.get("eventID") or e.payload["detail"]["eventID"] for e in result.events]


def test_a_bare_record_is_one_event() -> None:
    result = events_from_text(json.dumps(RECORD, indent=2), "r.json")
    assert not result.failed
    assert [e.payload for e in result.events] == [RECORD]
    assert result.events[0].origin == "r.json"


def test_an_envelope_is_one_event_kept_whole() -> None:
    result = events_from_text(json.dumps(ENVELOPE), "e.json")
    assert [e.payload for e in result.events] == [ENVELOPE]


def test_an_array_mixes_records_and_envelopes_in_order() -> None:
    result = events_from_text(json.dumps([RECORD, ENVELOPE]), "a.json")
    assert ids(result) == ["e-1", "e-2"]
    assert [e.origin for e in result.events] == ["a.json[0]", "a.json[1]"]


def test_json_lines_one_event_per_line_blank_lines_skipped() -> None:
    text = json.dumps(RECORD) + "\n\n" + json.dumps(ENVELOPE) + "\n"
    result = events_from_text(text, "l.jsonl")
    assert ids(result) == ["e-1", "e-2"]
    assert [e.origin for e in result.events] == ["l.jsonl:1", "l.jsonl:3"]


def test_a_cloudtrail_log_file_yields_its_records() -> None:
    result = events_from_text(json.dumps({"Records": [RECORD, {**RECORD, "eventID": "e-3"}]}), "log.json")
    assert ids(result) == ["e-1", "e-3"]


def test_garbage_is_not_json_with_the_position() -> None:
    result = events_from_text("this is not json {", "g.json")
    assert result.failed and not result.events
    assert result.problems[0].startswith("not JSON: line 1")


def test_a_broken_line_in_json_lines_names_the_line() -> None:
    result = events_from_text(json.dumps(RECORD) + "\n{broken\n", "l.jsonl")
    assert result.failed and not result.events
    assert "line 2" in result.problems[0]


def test_an_empty_array_holds_no_event() -> None:
    result = events_from_text("[]", "empty.json")
    assert result.failed and not result.events
    assert "no event" in result.problems[0]


def test_an_empty_file_holds_no_event() -> None:
    result = events_from_text("  \n", "blank.json")
    assert result.failed and "no event" in result.problems[0]


def test_items_that_are_not_events_are_reported_and_the_others_kept() -> None:
    result = events_from_text(json.dumps([RECORD, 42, {"foo": 1}]), "mixed.json")
    assert ids(result) == ["e-1"]
    assert len(result.problems) == 2
    assert result.problems[0].startswith("mixed.json[1] is not a CloudTrail record")
    assert "keys: foo" in result.problems[1]


def test_a_scalar_document_is_not_an_event() -> None:
    result = events_from_text("null", "n.json")
    assert result.failed and not result.events


def test_read_events_reads_gzip_and_reports_missing_and_binary_files(tmp_path: Path) -> None:
    packed = tmp_path / "log.json.gz"
    packed.write_bytes(gzip.compress(json.dumps({"Records": [RECORD]}).encode()))
    assert ids(read_events(str(packed))) == ["e-1"]

    missing = read_events(str(tmp_path / "nope.json"))
    assert missing.failed and "cannot read" in missing.problems[0]

    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert read_events(str(binary)).problems[0].startswith("not JSON")
