// Big-endian integer packing and hex text: the byte-level helpers every WW2 encoder needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ww {

// Writes the low `width` bytes of `value` most significant first (PROTOCOL.md: all integers big-endian).
inline void put_be(uint8_t* out, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) {
    out[width - 1 - i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

inline uint64_t get_be(const uint8_t* in, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value = (value << 8) | in[i];
  }
  return value;
}

// Lowercase hex, as PROTOCOL.md says text is written.
std::string to_hex(const uint8_t* data, size_t length);

// Accepts either case; false unless `text` is exactly 2 * length hex digits.
bool from_hex(const std::string& text, uint8_t* out, size_t length);

}  // namespace ww
