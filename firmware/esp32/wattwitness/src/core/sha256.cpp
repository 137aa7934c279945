// SHA-256 per FIPS 180-4, section 6.2; checked against OpenSSL and the shared vectors by the host tests.
#include "sha256.h"

#include <cstring>

#include "bytes.h"

namespace ww {

namespace {

const uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

Sha256::Sha256() : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19},
                   block_{}, block_used_(0), total_bytes_(0) {}

void Sha256::compress(const uint8_t block[64]) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t) w[t] = static_cast<uint32_t>(get_be(block + 4 * t, 4));
  for (int t = 16; t < 64; ++t) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int t = 0; t < 64; ++t) {
    uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    uint32_t choose = (e & f) ^ (~e & g);
    uint32_t temp1 = h + big_s1 + choose + kRoundConstants[t] + w[t];
    uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    uint32_t temp2 = big_s0 + majority;
    h = g;
    g = f;
    f = e;
    e = d + temp1;
    d = c;
    c = b;
    b = a;
    a = temp1 + temp2;
  }
  state_[0] += a; state_[1] += b; state_[2] += c; state_[3] += d;
  state_[4] += e; state_[5] += f; state_[6] += g; state_[7] += h;
}

void Sha256::update(const uint8_t* data, size_t length) {
  total_bytes_ += length;
  while (length > 0) {
    size_t take = 64 - block_used_;
    if (take > length) take = length;
    std::memcpy(block_ + block_used_, data, take);
    block_used_ += take;
    data += take;
    length -= take;
    if (block_used_ == 64) {
      compress(block_);
      block_used_ = 0;
    }
  }
}

void Sha256::finish(uint8_t digest[kSha256Len]) {
  uint64_t total_bits = total_bytes_ * 8;
  uint8_t padding[72] = {0x80};
  // Pad with 0x80, zeros, then the 64-bit bit length so the message ends on a 64-byte boundary.
  size_t pad_len = (block_used_ < 56) ? (56 - block_used_) : (120 - block_used_);
  uint8_t length_be[8];
  put_be(length_be, total_bits, 8);
  update(padding, pad_len);
  update(length_be, 8);
  for (int i = 0; i < 8; ++i) put_be(digest + 4 * i, state_[i], 4);
}

void sha256(const uint8_t* data, size_t length, uint8_t digest[kSha256Len]) {
  Sha256 hasher;
  hasher.update(data, length);
  hasher.finish(digest);
}

}  // namespace ww
