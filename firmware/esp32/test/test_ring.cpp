// The flash ring: order, wraparound, delete-only-on-pop, survival across reopen and torn writes.
#include <cstring>

#include "../wattwitness/src/core/bytes.h"
#include "../wattwitness/src/core/record_ring.h"
#include "harness.h"
#include "memory_flash.h"

namespace {

ww::SignedRecord entry_with_seq(uint32_t seq) {
  ww::SignedRecord entry;
  ww::Reading reading{};
  reading.boot = 1;
  reading.seq = seq;
  ww::encode_reading(reading, entry.record);
  std::memset(entry.signature, static_cast<int>(seq & 0xFF), sizeof entry.signature);
  return entry;
}

uint32_t seq_at(ww::RecordRing& ring, uint32_t index) {
  ww::SignedRecord entry;
  ww::Reading reading;
  if (!ring.peek(index, entry) || !ww::decode_reading(entry.record, ww::kReadingLen, reading)) return 0;
  return reading.seq;
}

}  // namespace

TEST(ring_default_capacity_holds_24_hours_at_10_seconds) {
  CHECK(ww::kDefaultRingCapacity >= 24 * 3600 / 10);
  CHECK(ww::RecordRing::kSlotLen >= 74 + 64);
  MemoryFlash flash(ww::RecordRing::region_size(ww::kDefaultRingCapacity));
  ww::RecordRing ring(flash, ww::kDefaultRingCapacity);
  CHECK(ring.open());
  for (uint32_t seq = 1; seq <= 8640; ++seq) {
    if (!ring.push(entry_with_seq(seq))) {
      CHECK(false);
      break;
    }
  }
  CHECK_EQ(ring.size(), uint32_t(8640));
  CHECK_EQ(ring.dropped(), uint32_t(0));
  CHECK_EQ(seq_at(ring, 0), uint32_t(1));
  CHECK_EQ(seq_at(ring, 8639), uint32_t(8640));
}

TEST(ring_keeps_order_and_deletes_only_what_is_popped) {
  MemoryFlash flash(ww::RecordRing::region_size(5));
  ww::RecordRing ring(flash, 5);
  CHECK(ring.open());
  CHECK_EQ(ring.size(), uint32_t(0));
  for (uint32_t seq = 1; seq <= 3; ++seq) CHECK(ring.push(entry_with_seq(seq)));
  CHECK_EQ(ring.size(), uint32_t(3));
  CHECK_EQ(seq_at(ring, 0), uint32_t(1));
  CHECK_EQ(seq_at(ring, 2), uint32_t(3));
  ww::SignedRecord entry;
  CHECK(!ring.peek(3, entry));
  CHECK(ring.pop(2));
  CHECK_EQ(ring.size(), uint32_t(1));
  CHECK_EQ(seq_at(ring, 0), uint32_t(3));
  CHECK(!ring.pop(2));  // cannot delete more than is queued
  CHECK_EQ(ring.size(), uint32_t(1));
}

TEST(ring_wraps_around_and_overwrites_the_oldest_when_full) {
  MemoryFlash flash(ww::RecordRing::region_size(4));
  ww::RecordRing ring(flash, 4);
  CHECK(ring.open());
  for (uint32_t seq = 1; seq <= 3; ++seq) CHECK(ring.push(entry_with_seq(seq)));
  CHECK(ring.pop(2));
  for (uint32_t seq = 4; seq <= 6; ++seq) CHECK(ring.push(entry_with_seq(seq)));  // wraps past the end
  CHECK_EQ(ring.size(), uint32_t(4));
  for (uint32_t i = 0; i < 4; ++i) CHECK_EQ(seq_at(ring, i), 3 + i);
  CHECK(ring.push(entry_with_seq(7)));  // full: 3 is overwritten
  CHECK_EQ(ring.size(), uint32_t(4));
  CHECK_EQ(ring.dropped(), uint32_t(1));
  CHECK_EQ(seq_at(ring, 0), uint32_t(4));
  ww::SignedRecord newest;
  ww::Reading reading;
  CHECK(ring.newest(newest) && ww::decode_reading(newest.record, ww::kReadingLen, reading));
  CHECK_EQ(reading.seq, uint32_t(7));
  CHECK_EQ(newest.signature[0], uint8_t(7));
}

TEST(ring_survives_reopen_and_a_torn_header_write) {
  MemoryFlash flash(ww::RecordRing::region_size(8));
  {
    ww::RecordRing ring(flash, 8);
    CHECK(ring.open());
    for (uint32_t seq = 1; seq <= 5; ++seq) CHECK(ring.push(entry_with_seq(seq)));
    CHECK(ring.pop(1));
  }
  {
    ww::RecordRing ring(flash, 8);
    CHECK(ring.open());
    CHECK_EQ(ring.size(), uint32_t(4));
    CHECK_EQ(seq_at(ring, 0), uint32_t(2));
    CHECK_EQ(seq_at(ring, 3), uint32_t(5));
    CHECK(ring.push(entry_with_seq(6)));
  }
  // Tear the header written last (pushing 6): the other copy still describes 2..5, and slot 6 is
  // simply not part of the queue.
  ww::RecordRing probe(flash, 8);
  CHECK(probe.open());
  uint8_t header_a[32], header_b[32];
  std::memcpy(header_a, flash.bytes.data(), 32);
  std::memcpy(header_b, flash.bytes.data() + 32, 32);
  uint32_t generation_a = static_cast<uint32_t>(ww::get_be(header_a + 8, 4));
  uint32_t generation_b = static_cast<uint32_t>(ww::get_be(header_b + 8, 4));
  size_t newest_header = generation_a > generation_b ? 0 : 32;
  flash.bytes[newest_header + 17] ^= 0xFF;
  ww::RecordRing ring(flash, 8);
  CHECK(ring.open());
  CHECK_EQ(ring.size(), uint32_t(4));
  CHECK_EQ(seq_at(ring, 0), uint32_t(2));
  CHECK_EQ(seq_at(ring, 3), uint32_t(5));
}

TEST(ring_detects_a_corrupted_slot_and_formats_erased_or_foreign_flash) {
  MemoryFlash flash(ww::RecordRing::region_size(4));
  ww::RecordRing ring(flash, 4);
  CHECK(ring.open());  // erased (0xFF) flash: formatted empty
  CHECK_EQ(ring.size(), uint32_t(0));
  CHECK(ring.push(entry_with_seq(1)));
  flash.bytes[2 * ww::RecordRing::kHeaderLen + 20] ^= 0x01;
  ww::SignedRecord entry;
  CHECK(!ring.peek(0, entry));
  // A ring formatted for another capacity is not misread.
  ww::RecordRing other(flash, 3);
  CHECK(other.open());
  CHECK_EQ(other.size(), uint32_t(0));
}

TEST(ring_reports_flash_failures) {
  MemoryFlash flash(ww::RecordRing::region_size(4));
  ww::RecordRing ring(flash, 4);
  CHECK(ring.open());
  flash.fail_writes = true;
  CHECK(!ring.push(entry_with_seq(1)));
  CHECK_EQ(ring.size(), uint32_t(0));
}
