"""Exact unit conversion at the meter boundary: W -> mW and Wh -> mWh without float rounding.

A float multiply (16.35 * 1000 = 16350.000000000002) can round differently on two machines; the
signed bytes must not depend on that. JSON numbers are therefore taken as decimal text.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from wattwitness.protocol.outcomes import ProtocolError


def milli_from_decimal_text(value: object) -> int:
    """'16.35' (W or Wh) -> 16350 (mW or mWh). Rounds half-even below a milli-unit; rejects NaN/inf/bool."""
    if isinstance(value, bool) or value is None:
        raise ProtocolError(f"not a number: {value!r}")
    try:
        # str() of a float gives its shortest round-trip repr ('16.35'), which is the decimal the meter sent.
        number = Decimal(value if isinstance(value, (str, int, Decimal)) else str(value))
    except (InvalidOperation, ValueError) as err:
        raise ProtocolError(f"not a number: {value!r}") from err
    if not number.is_finite():
        raise ProtocolError(f"not a finite number: {value!r}")
    return int((number * 1000).to_integral_value(rounding=ROUND_HALF_EVEN))
