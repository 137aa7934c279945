// WW2 records byte for byte (PROTOCOL.md §2 and §3): the 74-byte reading and the 82-byte enrollment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sha256.h"

namespace ww {

constexpr size_t kReadingLen = 74;
constexpr size_t kEnrollmentLen = 82;
constexpr size_t kSignatureLen = 64;   // r || s, what the ATECC608 Sign command returns
constexpr size_t kPublicKeyLen = 64;   // X || Y, no 0x04 prefix
constexpr size_t kMacLen = 6;
constexpr uint8_t kVersion = 0x02;
constexpr uint8_t kTypeEnrollment = 0x00;
constexpr uint8_t kTypeReading = 0x01;

struct Reading {
  uint8_t meter[kMacLen];
  uint32_t boot;
  uint32_t seq;
  uint64_t ts;
  int64_t power_mw;
  uint64_t energy_mwh;
  uint8_t prev[kSha256Len];  // all zero for a key's first record or after a chain restart
};

void encode_reading(const Reading& reading, uint8_t out[kReadingLen]);

// False unless `length` is 74 and magic, version and type are those of a WW2 reading.
bool decode_reading(const uint8_t* data, size_t length, Reading& reading);

void encode_enrollment(const uint8_t meter[kMacLen], uint64_t ts, const uint8_t public_key[kPublicKeyLen],
                       uint8_t out[kEnrollmentLen]);

// SHA-256 of a record's bytes: what `prev` commits to and what the secure element signs.
inline void record_hash(const uint8_t* record, size_t length, uint8_t out[kSha256Len]) {
  sha256(record, length, out);
}

// The first 8 bytes of SHA-256(X || Y) as 16 hex digits, for logs.
std::string key_id(const uint8_t public_key[kPublicKeyLen]);

// 12 hex digits with or without ':' / '-' separators, either case (the Shelly's `mac`).
bool parse_mac(const std::string& text, uint8_t out[kMacLen]);

}  // namespace ww
