// Hex text encoding and decoding for records, signatures and keys on the wire.
#include "bytes.h"

namespace ww {

namespace {

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(const uint8_t* data, size_t length) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    text.push_back(kDigits[data[i] >> 4]);
    text.push_back(kDigits[data[i] & 0x0f]);
  }
  return text;
}

bool from_hex(const std::string& text, uint8_t* out, size_t length) {
  if (text.size() != length * 2) return false;
  for (size_t i = 0; i < length; ++i) {
    int high = hex_digit_value(text[2 * i]);
    int low = hex_digit_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>((high << 4) | low);
  }
  return true;
}

}  // namespace ww
