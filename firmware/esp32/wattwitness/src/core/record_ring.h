// The offline buffer: signed records kept on flash until the server acknowledges them.
// A fixed-size ring of slots (record 74 + signature 64 + CRC-32) behind two alternating headers, so a
// power cut during any single write loses at most the record being written, never the queue.
// Records leave only through pop() (after an acknowledgement); when the ring is full the oldest unsent
// record is overwritten and counted in dropped(): the server then shows a gap rather than the device
// stopping to sign the present.
#pragma once

#include <cstddef>
#include <cstdint>

#include "record.h"
#include "storage.h"

namespace ww {

// 24 h at one reading per 10 s.
constexpr uint32_t kDefaultRingCapacity = 8640;

struct SignedRecord {
  uint8_t record[kReadingLen];
  uint8_t signature[kSignatureLen];
};

class RecordRing {
 public:
  static constexpr size_t kHeaderLen = 32;
  static constexpr size_t kSlotLen = kReadingLen + kSignatureLen + 4;

  RecordRing(FlashRegion& flash, uint32_t capacity);

  // Bytes of flash a ring of `capacity` slots occupies.
  static uint32_t region_size(uint32_t capacity) { return 2 * kHeaderLen + capacity * kSlotLen; }

  // Loads the newest valid header, or formats an empty ring when there is none (or its capacity differs).
  bool open();

  uint32_t size() const { return count_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t dropped() const { return dropped_; }

  // Appends; when full, first discards the oldest record (dropped() counts them).
  bool push(const SignedRecord& entry);
  // The i-th oldest record; false when i >= size() or its slot fails its checksum.
  bool peek(uint32_t index, SignedRecord& entry);
  // The newest record, used at boot to recover a chain head that was not saved before a power cut.
  bool newest(SignedRecord& entry) { return count_ > 0 && peek(count_ - 1, entry); }
  // Deletes the n oldest records (they were acknowledged).
  bool pop(uint32_t n);

 private:
  bool write_header();
  bool read_header(uint32_t which, uint32_t& generation);

  FlashRegion& flash_;
  uint32_t capacity_;
  uint32_t start_;
  uint32_t count_;
  uint32_t dropped_;
  uint32_t generation_;
};

}  // namespace ww
