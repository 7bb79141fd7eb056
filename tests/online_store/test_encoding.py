"""The store's value encoding is lossless for every online type (a property, no server needed), and text it did not
write reads back as it is."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from parity.online_store.redis import decode_value, encode_value

ONLINE = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                   st.floats(allow_nan=True, allow_infinity=True), st.text())


@given(ONLINE)
def test_every_online_value_decodes_to_itself_with_its_type(value: object) -> None:
    decoded = decode_value(encode_value(value))
    assert type(decoded) is type(value)
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(decoded, float) and math.isnan(decoded)
    elif isinstance(value, float):
        assert decoded == value and math.copysign(1.0, decoded) == math.copysign(1.0, value)  # type: ignore[arg-type]
    else:
        assert decoded == value


def test_text_without_a_tag_reads_as_it_is() -> None:
    assert [decode_value(text) for text in ("42", "x:1", "i:4.5", "b:yes", "n:0", "")] == ["42", "x:1", "i:4.5", "b:yes", "n:0", ""]
