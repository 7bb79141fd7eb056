"""How parity holds Arrow rows in pandas: the one nullable type map.

Arrow integers, floats and booleans with nulls would become floats or objects in plain pandas; the nullable
dtypes keep a null distinct from NaN and an integer exact. Every Arrow -> pandas conversion of values goes
through `NULLABLE` (`table.to_pandas(types_mapper=NULLABLE.get)`).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

NULLABLE: dict[pa.DataType, object] = {
    **{kind: pd.Int64Dtype() for kind in (pa.int8(), pa.int16(), pa.int32(), pa.int64())},
    **{kind: pd.UInt64Dtype() for kind in (pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())},  # 2**64 - 1 exact
    pa.float32(): pd.Float64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}
# Keys: a null key and a NaN key are one null (`parity.sample.key_text`), so floats stay float64.
NULLABLE_KEYS: dict[pa.DataType, object] = {kind: dtype for kind, dtype in NULLABLE.items() if not pa.types.is_floating(kind)}
