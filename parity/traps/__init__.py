"""Porting traps: places where a feature's Beam job and its Spark SQL can be seen to mean different things.

`parity lint` reads both sides of an existing port without running either: the SQL through sqlglot
(`parity.query`), the job through Python's `ast` (a `transform_ref` module is parsed, never imported; the
Python expressions and callables of a Beam YAML `transform` likewise). Each side is reduced to what it
visibly does (the job to `JobFact`s: a row count, a distinct set, a floor division, a lowercasing, a local
clock, its own `WindowInto`, ...), and one function per trap compares them. A trap found is a
`TrapWarning` naming the SQL line, the job step, the trap and the fix: data, never an exception.

The checks are heuristics over what can be seen: a job that computes the same thing in a way they do not
recognise is not flagged, and a warning says what was seen on each side, so a reader can judge it. The
Spark vs Python facts behind each trap are in SEMANTICS.md (parity's Spark session is always UTC,
`parity.offline`). A query window that differs from the spec's is not a trap here: `parity.feature` already
rejects it as an error.
"""

from parity.traps.checks import TRAPS, Trap, TrapWarning, find_traps
from parity.traps.job import Fact, Job, JobFact, JobStep, read_job
from parity.traps.sql import Query, SqlPlace, read_sql

__all__ = ["TRAPS", "Fact", "Job", "JobFact", "JobStep", "Query", "SqlPlace", "Trap", "TrapWarning", "find_traps",
           "read_job", "read_sql"]
