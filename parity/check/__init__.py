"""The parity check, by stage: `settle` (which windows are final) -> `online` (the realtime rows, from an
`OnlineSource`) -> `core` (both sides read, compared, attributed, diagnosed; one function of feature, online
source, offline engine and span) -> `verdict` (the `CheckResult` every report and alert renders).

`run_check` is the one call from Python; the CLI, the service and `parity.testing` build the sides and call
`check_feature`.
"""

from parity.check.core import AROUND_US, CheckedCells, check_cells, check_feature, run_check
from parity.check.online import ONLINE_COLUMNS, OnlineRead, read_online
from parity.check.settle import CheckRange, new_run_id, settle
from parity.check.verdict import ON_TIME, WORST_CELLS

__all__ = ["AROUND_US", "ONLINE_COLUMNS", "ON_TIME", "WORST_CELLS", "CheckRange", "CheckedCells", "OnlineRead",
           "check_cells", "check_feature", "new_run_id", "read_online", "run_check", "settle"]
