"""The valid project the fuzz inputs mutate (see conftest.py): its range and its lazily streamed features."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from parity.events import read_events
from parity.offline import event_range
from parity.realtime import run_stream
from parity.settings import Settings
from parity.spec import load_feature

START = "2024-06-03T10:00:00Z"
END = "2024-06-03T10:15:00Z"


def us(text: str) -> int:
    moment = dt.datetime.fromisoformat(text)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


@dataclass
class FuzzBase:
    settings: Settings
    streamed: set[str] = field(default_factory=set)

    @property
    def root(self) -> Path:
        return self.settings.project

    def online_for(self, feature: str) -> None:
        """Stream `feature` over [START, END) into the base project's online log, once."""
        if feature in self.streamed:
            return
        spec = load_feature(feature, self.root)
        lo, hi = event_range(spec.window, us(START), us(END))
        events = read_events(self.settings.event_log, spec.source, lo, hi)
        run_stream(spec, self.settings, events, windows=(us(START), us(END)))
        self.streamed.add(feature)
