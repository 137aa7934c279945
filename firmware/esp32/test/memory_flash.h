// An in-memory FlashRegion for tests, able to simulate a write that a power cut interrupts.
#pragma once

#include <cstring>
#include <vector>

#include "../wattwitness/src/core/storage.h"

class MemoryFlash : public ww::FlashRegion {
 public:
  explicit MemoryFlash(size_t size) : bytes(size, 0xFF) {}
  bool read(uint32_t offset, uint8_t* data, size_t length) override {
    if (offset + length > bytes.size()) return false;
    std::memcpy(data, bytes.data() + offset, length);
    return true;
  }
  bool write(uint32_t offset, const uint8_t* data, size_t length) override {
    if (fail_writes || offset + length > bytes.size()) return false;
    ++writes;
    std::memcpy(bytes.data() + offset, data, length);
    return true;
  }
  bool sync() override { return true; }

  std::vector<uint8_t> bytes;
  bool fail_writes = false;
  int writes = 0;
};
