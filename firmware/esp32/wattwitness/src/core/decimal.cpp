// Scales a JSON number's decimal text by 1000 using only digit arithmetic (see decimal.h for why).
#include "decimal.h"

#include <string>

namespace ww {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool milli_from_decimal_text(const char* text, size_t length, int64_t& out) {
  size_t i = 0;
  bool negative = false;
  if (i < length && text[i] == '-') {
    negative = true;
    ++i;
  }
  // All significant digits, integer part then fraction, and where the decimal point sits among them.
  std::string digits;
  long point = 0;
  size_t integer_start = i;
  while (i < length && is_digit(text[i])) digits.push_back(text[i++]);
  if (i == integer_start) return false;
  // JSON forbids leading zeros such as "012".
  if (i - integer_start > 1 && text[integer_start] == '0') return false;
  point = static_cast<long>(digits.size());
  if (i < length && text[i] == '.') {
    ++i;
    size_t fraction_start = i;
    while (i < length && is_digit(text[i])) digits.push_back(text[i++]);
    if (i == fraction_start) return false;
  }
  if (i < length && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < length && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
    size_t exponent_start = i;
    long exponent = 0;
    while (i < length && is_digit(text[i])) {
      // Anything beyond +-100000 is out of range either way; cap to avoid overflow.
      if (exponent < 100000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exponent_start) return false;
    point += exponent_negative ? -exponent : exponent;
  }
  if (i != length) return false;

  point += 3;  // times 1000
  // Integer part = digits[0 .. point), the rest is the fraction below one milli-unit.
  uint64_t magnitude = 0;
  const uint64_t limit = negative ? (uint64_t(1) << 63) : (uint64_t(1) << 63) - 1;
  for (long k = 0; k < point; ++k) {
    int digit = (k < static_cast<long>(digits.size())) ? digits[static_cast<size_t>(k)] - '0' : 0;
    if (magnitude > (limit - static_cast<uint64_t>(digit)) / 10) return false;
    magnitude = magnitude * 10 + static_cast<uint64_t>(digit);
  }
  // Round half to even on the discarded fraction.
  long first_dropped = point < 0 ? 0 : point;
  int dropped_first_digit = 0;
  bool dropped_rest_nonzero = false;
  for (long k = first_dropped; k < static_cast<long>(digits.size()); ++k) {
    // With point < 0 there are -point implicit zeros before the digits, so the first dropped digit is 0.
    if (k == first_dropped && point >= 0) {
      dropped_first_digit = digits[static_cast<size_t>(k)] - '0';
    } else if (digits[static_cast<size_t>(k)] != '0') {
      dropped_rest_nonzero = true;
    }
  }
  bool round_up = dropped_first_digit > 5 || (dropped_first_digit == 5 && (dropped_rest_nonzero || (magnitude & 1)));
  if (round_up) {
    if (magnitude == limit) return false;
    ++magnitude;
  }
  if (negative) {
    out = magnitude == (uint64_t(1) << 63) ? INT64_MIN : -static_cast<int64_t>(magnitude);
  } else {
    out = static_cast<int64_t>(magnitude);
  }
  return true;
}

}  // namespace ww
