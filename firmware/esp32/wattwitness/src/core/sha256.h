// SHA-256 (FIPS 180-4), self-contained so the ESP32 build and the host build hash with the same code.
// Record hashes (`prev`), the digest the secure element signs, and the ring buffer's slot checksums use it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ww {

constexpr size_t kSha256Len = 32;

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t length);
  void finish(uint8_t digest[kSha256Len]);

 private:
  void compress(const uint8_t block[64]);

  uint32_t state_[8];
  uint8_t block_[64];
  size_t block_used_;
  uint64_t total_bytes_;
};

void sha256(const uint8_t* data, size_t length, uint8_t digest[kSha256Len]);

}  // namespace ww
