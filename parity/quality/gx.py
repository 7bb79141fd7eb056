"""Running Great Expectations: one in-memory context per process, a suite's rules validated over a frame, and
each failed expectation in words (`FailedExpectation`)."""

from __future__ import annotations

import functools
import math
import threading
from typing import TYPE_CHECKING, Any

from parity.units import iso

if TYPE_CHECKING:
    import pandas as pd

    from parity.quality import FailedExpectation, Rule, Suite

SAMPLE_VALUES = 3  # values shown of a failed expectation
_GX_LOCK = threading.Lock()


def _ephemeral_context() -> Any:
    """An in-memory context: nothing written to disk, analytics and progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@functools.cache
def _batch_definitions() -> dict[Suite, Any]:
    """One in-memory context per process, with a whole-dataframe batch definition per suite.

    Made once: every object added to a context is serialized into its (in-memory) stores, a third of what a
    validation costs when made per check. The suites themselves are not added; they are validated directly.
    """
    from parity.quality import Suite

    context = _ephemeral_context()
    return {
        suite: context.data_sources.add_pandas(f"parity_{suite}")
        .add_dataframe_asset(str(suite))
        .add_batch_definition_whole_dataframe("range")
        for suite in Suite
    }


def validate(suite: Suite, frame: pd.DataFrame, rules: list[Rule]) -> list[FailedExpectation]:
    """Run one suite over one frame, by the validator a ValidationDefinition runs (it fetches and fingerprints the
    frame once; `batch.validate` would do it twice), without storing the result in the context."""
    import great_expectations as gx
    from great_expectations.validator.v1_validator import Validator

    if not rules:
        return []
    expectations = [
        rule.expectation.copy(update={"meta": {**(rule.expectation.meta or {}), "parity_rule": index}})
        for index, rule in enumerate(rules)
    ]
    with _GX_LOCK:  # one shared context: checks on several threads validate one at a time
        validator = Validator(
            batch_definition=_batch_definitions()[suite],
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "BASIC", "partial_unexpected_count": SAMPLE_VALUES},
        )
        result = validator.validate_expectation_suite(
            gx.ExpectationSuite(name=f"parity_{suite}", expectations=expectations)
        )
    failed = []
    outcomes: list[Any] = result.results
    for outcome in outcomes:
        if not outcome.success:
            index = outcome.expectation_config.meta["parity_rule"]
            failed.append((index, _failure(suite, rules[index], outcome)))
    return [failure for _, failure in sorted(failed, key=lambda pair: pair[0])]


def _failure(suite: Suite, rule: Rule, outcome: Any) -> FailedExpectation:
    from parity.quality import FailedExpectation

    config = outcome.expectation_config
    kwargs = {name: plain(value) for name, value in config.kwargs.items() if name != "batch_id"}
    details = outcome.result or {}
    count = details.get("unexpected_count")
    percent = details.get("unexpected_percent")
    error = _exception_message(outcome.exception_info)
    if error:
        observed = f"could not evaluate: {error}"
    elif config.type == "expect_column_to_exist":
        observed = "column is missing"
    elif count is not None:
        samples = details.get("partial_unexpected_list") or []
        samples = [None] * len(samples) if rule.nulls_only else samples  # nulls, whatever a null mask holds
        shown = ", ".join(iso(int(v)) if rule.timestamps else repr(plain(v)) for v in samples[:SAMPLE_VALUES])
        observed = f"{count} of {details.get('element_count')} rows unexpected ({percent:.3g}%)"
        observed += f", e.g. {shown}" if shown else ""
    elif rule.examples:
        rows = plain(details.get('observed_value'))
        observed = f"{rows} row{'' if rows == 1 else 's'}, e.g. {'; '.join(rule.examples)}"
    elif "observed_value" in details:
        observed = f"observed {plain(details['observed_value'])!r}"
    else:
        observed = "expectation not met"
    return FailedExpectation(
        suite=suite,
        expectation=config.type,
        column=kwargs.get("column") if isinstance(kwargs.get("column"), str) else None,
        kwargs=kwargs,
        observed=observed,
        unexpected_count=int(count) if count is not None else None,
        unexpected_percent=float(percent) if percent is not None else None,
        description=rule.description,
    )


def _exception_message(info: Any) -> str:
    """Great Expectations reports errors either flat or keyed by metric; the first message, one line."""
    if not isinstance(info, dict):
        return ""
    candidates = [info, *(value for value in info.values() if isinstance(value, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception") or candidate.get("exception_message"):
            message = str(candidate.get("exception_message") or "error")
            return message.strip().splitlines()[0][:300] if message.strip() else "error"
    return ""



def plain(value: Any) -> Any:
    """numpy scalars and floats that are whole numbers, as JSON-friendly Python values."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value

