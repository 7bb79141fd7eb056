"""The one family of errors parity raises, each with the exit code the CLI maps it to.

Divergences are data, not exceptions: these are for things that stop a run. Every error carries a
one-line message saying what is wrong and how to fix it, plus structured fields for programs.
All of them pickle (they may cross into Spark or Beam workers).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BREACH = 1
EXIT_ERROR = 2


class ParityError(Exception):
    """Base of every error parity raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.__dict__))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[ParityError], state: dict[str, object]) -> ParityError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class ConfigError(ParityError):
    """`[tool.parity]` settings are missing or wrong."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: [tool.parity] {field}: {problem}" if field else f"{path}: {problem}")
        self.path = path
        self.field = field


class SpecError(ParityError):
    """A feature spec (realtime_jobs/<name>.yaml) or its SQL is invalid."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}" if field else f"{path}: {problem}")
        self.path = path
        self.field = field


class UnknownFeatureError(ParityError):
    def __init__(self, name: str, known: list[str]) -> None:
        choices = ", ".join(known) if known else "none defined"
        super().__init__(f"unknown feature {name!r}; known features: {choices}")
        self.name = name


class DataError(ParityError):
    """Input data is missing or unusable (no event log, no events in range, bad online log)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


class QueryError(ParityError):
    """An offline query failed to parse, rewrite or run in Spark."""

    def __init__(self, feature: str, problem: str) -> None:
        super().__init__(f"offline query of {feature}: {problem}")
        self.feature = feature


class JobError(ParityError):
    """A realtime (Beam) job failed: an exception in a transform, a stalled pipeline, bad output."""

    def __init__(self, feature: str, problem: str) -> None:
        super().__init__(f"realtime job of {feature}: {problem}")
        self.feature = feature


class AlertRuleError(ParityError):
    """An alert rule (alerts/<name>.yaml) is invalid, or names a rule that does not exist."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}" if field else f"{path}: {problem}")
        self.path = path
        self.field = field


class StoreError(ParityError):
    """The results store (`[tool.parity] database`) cannot be opened, is corrupt, or refuses a write."""

    def __init__(self, database: str, problem: str) -> None:
        super().__init__(f"results store {database}: {problem}")
        self.database = database


class OnlineStoreError(ParityError):
    """The online store models read (`redis://...`, `parity.online_store`) cannot be opened, stays unreachable,
    or cannot hold a value. `url` is the store's URL with any password redacted."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"online store {url}: {problem}")
        self.url = url


def describe(exc: BaseException) -> str:
    """One line for an error: a ParityError's message, or the gist of an unexpected one."""
    if isinstance(exc, ParityError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first} (rerun with --debug for the traceback)"


class PortRefused(ParityError):
    """`parity port` cannot translate an offline query: one line per construct, naming it and why."""

    def __init__(self, path: str, refusals: list[str]) -> None:
        super().__init__("\n".join(f"{path}: {refusal}" for refusal in refusals))
        self.path = path
        self.refusals = tuple(refusals)
