// Persistence interfaces the device loop writes through: a byte region for the record ring (a LittleFS
// file on the ESP32, a plain file on the host) and a store for the chain head and the enrollment flag
// (Preferences/NVS on the ESP32, files on the host). CRC-32 guards what a power cut may tear.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sha256.h"

namespace ww {

class FlashRegion {
 public:
  virtual ~FlashRegion() {}
  virtual bool read(uint32_t offset, uint8_t* data, size_t length) = 0;
  virtual bool write(uint32_t offset, const uint8_t* data, size_t length) = 0;
  // Makes earlier writes durable (fsync / file flush).
  virtual bool sync() = 0;
};

// The last record this key signed: `prev` of the next record is `hash`.
struct ChainHead {
  bool present;
  uint32_t boot;
  uint32_t seq;
  uint8_t hash[kSha256Len];
};

constexpr size_t kChainHeadBlobLen = 4 + 4 + 4 + kSha256Len + 4;  // magic, boot, seq, hash, crc32

// Fixed binary form stored by either build, so a torn or foreign blob is recognised and ignored.
void encode_chain_head(const ChainHead& head, uint8_t out[kChainHeadBlobLen]);
bool decode_chain_head(const uint8_t* blob, size_t length, ChainHead& head);

class DeviceStore {
 public:
  virtual ~DeviceStore() {}
  // False when no head is stored (first boot, or the store was erased: a visible chain restart follows).
  virtual bool load_head(ChainHead& head) = 0;
  virtual bool save_head(const ChainHead& head) = 0;
  virtual bool enrolled() = 0;
  virtual bool set_enrolled() = 0;
};

uint32_t crc32(const uint8_t* data, size_t length, uint32_t crc = 0);

}  // namespace ww
