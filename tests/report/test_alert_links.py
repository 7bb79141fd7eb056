"""Slack, PagerDuty and webhook notifications carry the link to the report of the check that triggered them."""

from __future__ import annotations

import dataclasses

from parity.alerts.channels import Message, NotificationKind
from parity.alerts.channels import json_body as webhook_body
from parity.alerts.channels.pagerduty import pagerduty_body
from parity.alerts.channels.slack import slack_body
from parity.alerts.rules import Severity
from parity.report import report_link

LINK = "https://reports.example.test/ride_requests/20261126T100000Z-abcdef.html"
MESSAGE = Message(key="k1", kind=NotificationKind.TRIGGER, rule="page", feature="ride_requests", incident_id="i1",
                  dedup_key="d1", condition="breach", severity=Severity.CRITICAL, summary="agreement 97%",
                  time_us=1_764_000_000_000_000, report_url=LINK)


def test_the_report_link_is_the_base_url_feature_and_run() -> None:
    assert report_link("https://reports.example.test/", "ride_requests", "20261126T100000Z-abcdef") == LINK
    assert report_link(None, "ride_requests", "x") is None


def test_slack_pagerduty_and_webhook_bodies_carry_the_link() -> None:
    slack = slack_body(MESSAGE)
    assert f"<{LINK}|Open the report>" in slack["text"] and LINK in slack["blocks"][0]["text"]["text"]
    assert pagerduty_body(MESSAGE, "routing")["links"] == [{"href": LINK, "text": "parity report"}]
    assert webhook_body(MESSAGE)["report_url"] == LINK


def test_without_a_base_url_no_body_has_a_link() -> None:
    bare = dataclasses.replace(MESSAGE, report_url=None)
    assert "Open the report" not in slack_body(bare)["text"]
    assert "links" not in pagerduty_body(bare, "routing")
    assert webhook_body(bare)["report_url"] is None


def test_a_message_stored_before_links_existed_still_loads() -> None:
    stored = {k: v for k, v in MESSAGE.to_json().items() if k != "report_url"}
    assert Message.from_json(stored).report_url is None
