// Encodes and decodes WW2 reading and enrollment records exactly as PROTOCOL.md lays them out.
#include "record.h"

#include <cstring>

#include "bytes.h"

namespace ww {

namespace {

void put_header(uint8_t* out, uint8_t type, const uint8_t meter[kMacLen]) {
  out[0] = 'W';
  out[1] = 'W';
  out[2] = kVersion;
  out[3] = type;
  std::memcpy(out + 4, meter, kMacLen);
}

}  // namespace

void encode_reading(const Reading& reading, uint8_t out[kReadingLen]) {
  put_header(out, kTypeReading, reading.meter);
  put_be(out + 10, reading.boot, 4);
  put_be(out + 14, reading.seq, 4);
  put_be(out + 18, reading.ts, 8);
  // Two's complement big-endian: a negative power (consumption) keeps its sign bit in byte 26.
  put_be(out + 26, static_cast<uint64_t>(reading.power_mw), 8);
  put_be(out + 34, reading.energy_mwh, 8);
  std::memcpy(out + 42, reading.prev, kSha256Len);
}

bool decode_reading(const uint8_t* data, size_t length, Reading& reading) {
  if (length != kReadingLen || data[0] != 'W' || data[1] != 'W' || data[2] != kVersion ||
      data[3] != kTypeReading) {
    return false;
  }
  std::memcpy(reading.meter, data + 4, kMacLen);
  reading.boot = static_cast<uint32_t>(get_be(data + 10, 4));
  reading.seq = static_cast<uint32_t>(get_be(data + 14, 4));
  reading.ts = get_be(data + 18, 8);
  reading.power_mw = static_cast<int64_t>(get_be(data + 26, 8));
  reading.energy_mwh = get_be(data + 34, 8);
  std::memcpy(reading.prev, data + 42, kSha256Len);
  return true;
}

void encode_enrollment(const uint8_t meter[kMacLen], uint64_t ts, const uint8_t public_key[kPublicKeyLen],
                       uint8_t out[kEnrollmentLen]) {
  put_header(out, kTypeEnrollment, meter);
  put_be(out + 10, ts, 8);
  std::memcpy(out + 18, public_key, kPublicKeyLen);
}

std::string key_id(const uint8_t public_key[kPublicKeyLen]) {
  uint8_t digest[kSha256Len];
  sha256(public_key, kPublicKeyLen, digest);
  return to_hex(digest, 8);
}

bool parse_mac(const std::string& text, uint8_t out[kMacLen]) {
  std::string digits;
  for (char c : text) {
    if (c == ':' || c == '-') continue;
    digits.push_back(c);
  }
  return from_hex(digits, out, kMacLen);
}

}  // namespace ww
