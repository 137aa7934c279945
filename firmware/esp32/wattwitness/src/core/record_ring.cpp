// RecordRing: slot layout, A/B headers with generation numbers, push/peek/pop.
#include "record_ring.h"

#include <cstring>

#include "bytes.h"

namespace ww {

namespace {
const uint8_t kRingMagic[4] = {'W', 'W', 'R', 'B'};
}

RecordRing::RecordRing(FlashRegion& flash, uint32_t capacity)
    : flash_(flash), capacity_(capacity), start_(0), count_(0), dropped_(0), generation_(0) {}

bool RecordRing::read_header(uint32_t which, uint32_t& generation) {
  uint8_t header[kHeaderLen];
  if (!flash_.read(which * kHeaderLen, header, kHeaderLen)) return false;
  if (std::memcmp(header, kRingMagic, 4) != 0) return false;
  if (get_be(header + 28, 4) != crc32(header, 28)) return false;
  uint32_t capacity = static_cast<uint32_t>(get_be(header + 4, 4));
  uint32_t start = static_cast<uint32_t>(get_be(header + 12, 4));
  uint32_t count = static_cast<uint32_t>(get_be(header + 16, 4));
  if (capacity != capacity_ || start >= capacity || count > capacity) return false;
  generation = static_cast<uint32_t>(get_be(header + 8, 4));
  if (generation < generation_) return true;  // the other header is newer
  generation_ = generation;
  start_ = start;
  count_ = count;
  dropped_ = static_cast<uint32_t>(get_be(header + 20, 4));
  return true;
}

bool RecordRing::open() {
  generation_ = 0;
  start_ = count_ = dropped_ = 0;
  uint32_t generation_a = 0, generation_b = 0;
  bool a = read_header(0, generation_a);
  bool b = read_header(1, generation_b);
  if (a || b) return true;
  return write_header();
}

// Writes the header copy the current one is not in, so the previous state survives a torn write.
bool RecordRing::write_header() {
  ++generation_;
  uint8_t header[kHeaderLen] = {0};
  std::memcpy(header, kRingMagic, 4);
  put_be(header + 4, capacity_, 4);
  put_be(header + 8, generation_, 4);
  put_be(header + 12, start_, 4);
  put_be(header + 16, count_, 4);
  put_be(header + 20, dropped_, 4);
  put_be(header + 28, crc32(header, 28), 4);
  return flash_.write((generation_ & 1) * kHeaderLen, header, kHeaderLen) && flash_.sync();
}

bool RecordRing::push(const SignedRecord& entry) {
  if (capacity_ == 0) return false;
  if (count_ == capacity_) {
    start_ = (start_ + 1) % capacity_;
    --count_;
    ++dropped_;
    // Commit the drop before reusing its slot, so a torn write cannot make the newest record look oldest.
    if (!write_header()) return false;
  }
  uint32_t slot = (start_ + count_) % capacity_;
  uint8_t buffer[kSlotLen];
  std::memcpy(buffer, entry.record, kReadingLen);
  std::memcpy(buffer + kReadingLen, entry.signature, kSignatureLen);
  put_be(buffer + kReadingLen + kSignatureLen, crc32(buffer, kReadingLen + kSignatureLen), 4);
  if (!flash_.write(2 * kHeaderLen + slot * kSlotLen, buffer, kSlotLen) || !flash_.sync()) return false;
  ++count_;
  return write_header();
}

bool RecordRing::peek(uint32_t index, SignedRecord& entry) {
  if (index >= count_) return false;
  uint32_t slot = (start_ + index) % capacity_;
  uint8_t buffer[kSlotLen];
  if (!flash_.read(2 * kHeaderLen + slot * kSlotLen, buffer, kSlotLen)) return false;
  if (get_be(buffer + kReadingLen + kSignatureLen, 4) != crc32(buffer, kReadingLen + kSignatureLen)) return false;
  std::memcpy(entry.record, buffer, kReadingLen);
  std::memcpy(entry.signature, buffer + kReadingLen, kSignatureLen);
  return true;
}

bool RecordRing::pop(uint32_t n) {
  if (n > count_) return false;
  if (n == 0) return true;
  start_ = (start_ + n) % capacity_;
  count_ -= n;
  return write_header();
}

}  // namespace ww
