// Chain-head blob encoding and the CRC-32 (IEEE 802.3, reflected) used by the persistent stores.
#include "storage.h"

#include <cstring>

#include "bytes.h"

namespace ww {

namespace {
const uint8_t kHeadMagic[4] = {'W', 'W', 'C', 'H'};
}

uint32_t crc32(const uint8_t* data, size_t length, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < length; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void encode_chain_head(const ChainHead& head, uint8_t out[kChainHeadBlobLen]) {
  std::memcpy(out, kHeadMagic, 4);
  put_be(out + 4, head.boot, 4);
  put_be(out + 8, head.seq, 4);
  std::memcpy(out + 12, head.hash, kSha256Len);
  put_be(out + 12 + kSha256Len, crc32(out, 12 + kSha256Len), 4);
}

bool decode_chain_head(const uint8_t* blob, size_t length, ChainHead& head) {
  if (length != kChainHeadBlobLen || std::memcmp(blob, kHeadMagic, 4) != 0) return false;
  if (get_be(blob + 12 + kSha256Len, 4) != crc32(blob, 12 + kSha256Len)) return false;
  head.present = true;
  head.boot = static_cast<uint32_t>(get_be(blob + 4, 4));
  head.seq = static_cast<uint32_t>(get_be(blob + 8, 4));
  std::memcpy(head.hash, blob + 12, kSha256Len);
  return true;
}

}  // namespace ww
