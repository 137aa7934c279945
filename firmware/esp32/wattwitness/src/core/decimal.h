// Exact decimal-text to milli-unit conversion (W -> mW, Wh -> mWh) for the meter's JSON numbers.
// The original firmware multiplied floats (and multiplied Wh by 1000 as if it were kWh); the signed
// bytes must not depend on float rounding, so the number's text is scaled by moving the decimal point.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ww {

// "16.63" -> 16630, "21700.0" -> 21700000, "-30.49" -> -30490, "1.5e3" -> 1500000.
// Below a milli-unit it rounds half to even, like the Python library's `milli_from_decimal_text`.
// False for anything that is not a JSON number or whose result does not fit in int64.
bool milli_from_decimal_text(const char* text, size_t length, int64_t& out);

}  // namespace ww
