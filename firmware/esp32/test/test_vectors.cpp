// The shared WW2 vectors (tests/vectors/ww2.json) reproduced byte for byte by the firmware's encoder,
// its SHA-256 and its secure-element adapter over the OpenSSL fake.
#include <cstring>

#include "../wattwitness/src/core/bytes.h"
#include "../wattwitness/src/core/decimal.h"
#include "../wattwitness/src/core/json.h"
#include "../wattwitness/src/core/record.h"
#include "../wattwitness/src/core/secure_element.h"
#include "harness.h"
#include "host/fake_eccx08.h"

namespace {

struct Vectors {
  std::string text;
  ww::JsonValue root;
};

bool load(Vectors& v) {
  v.text = harness::read_file(harness::vectors_dir() + "/ww2.json");
  return ww::JsonValue::parse(v.text, v.root);
}

std::string string_member(const ww::JsonValue& object, const char* key) {
  ww::JsonValue value;
  std::string out;
  if (!object.member(key, value) || !value.string(out)) return "<missing " + std::string(key) + ">";
  return out;
}

int64_t int_member(const ww::JsonValue& object, const char* key) {
  ww::JsonValue value;
  int64_t milli = 0;
  if (!object.member(key, value)) return -1;
  std::string text = value.number_text();
  // Reuse the exact decimal parser: an integer N comes back as N * 1000.
  if (!ww::milli_from_decimal_text(text.data(), text.size(), milli)) return -1;
  return milli / 1000;
}

template <size_t N>
bool hex_member(const ww::JsonValue& object, const char* key, uint8_t (&out)[N]) {
  return ww::from_hex(string_member(object, key), out, N);
}

bool vector_public_key(const Vectors& v, uint8_t (&public_key)[64]) {
  ww::JsonValue key;
  return v.root.member("key", key) && hex_member(key, "public", public_key);
}

}  // namespace

TEST(vectors_file_parses_with_the_firmware_json_reader) {
  Vectors v;
  CHECK(load(v));
  ww::JsonValue chain;
  CHECK(v.root.member("chain", chain));
  CHECK(chain.size() >= 3);
}

TEST(chain_records_are_reproduced_byte_for_byte) {
  Vectors v;
  CHECK(load(v));
  ww::JsonValue chain, item, fields;
  CHECK(v.root.member("chain", chain));
  uint8_t previous_hash[32] = {0};
  for (size_t i = 0; chain.at(i, item); ++i) {
    CHECK(item.member("fields", fields));
    ww::Reading reading;
    CHECK(ww::parse_mac(string_member(fields, "meter"), reading.meter));
    reading.boot = static_cast<uint32_t>(int_member(fields, "boot"));
    reading.seq = static_cast<uint32_t>(int_member(fields, "seq"));
    reading.ts = static_cast<uint64_t>(int_member(fields, "ts"));
    reading.power_mw = int_member(fields, "power_mw");
    reading.energy_mwh = static_cast<uint64_t>(int_member(fields, "energy_mwh"));
    CHECK(hex_member(fields, "prev", reading.prev));
    uint8_t record[ww::kReadingLen];
    ww::encode_reading(reading, record);
    CHECK_EQ(ww::to_hex(record, sizeof record), string_member(item, "record"));
    uint8_t hash[32];
    ww::record_hash(record, sizeof record, hash);
    CHECK_EQ(ww::to_hex(hash, 32), string_member(item, "hash"));
    // Each vector record links to the one before it, across the boot 1 -> 2 restart too.
    if (i > 0) CHECK(std::memcmp(reading.prev, previous_hash, 32) == 0);
    std::memcpy(previous_hash, hash, 32);
    ww::Reading decoded;
    CHECK(ww::decode_reading(record, sizeof record, decoded));
    CHECK_EQ(decoded.power_mw, reading.power_mw);
    CHECK_EQ(decoded.energy_mwh, reading.energy_mwh);
  }
}

TEST(vector_signatures_verify_with_openssl_and_tampering_fails) {
  Vectors v;
  CHECK(load(v));
  uint8_t public_key[64];
  CHECK(vector_public_key(v, public_key));
  ww::JsonValue chain, item, high_s, negatives;
  CHECK(v.root.member("chain", chain));
  size_t checked = 0;
  for (size_t i = 0; chain.at(i, item); ++i) {
    uint8_t record[ww::kReadingLen], signature[64], digest[32];
    CHECK(hex_member(item, "record", record));
    CHECK(hex_member(item, "signature", signature));
    ww::record_hash(record, sizeof record, digest);
    CHECK(ww_host::openssl_verify(public_key, digest, signature));
    record[40] ^= 1;  // energy field
    ww::record_hash(record, sizeof record, digest);
    CHECK(!ww_host::openssl_verify(public_key, digest, signature));
    ++checked;
  }
  CHECK(checked >= 3);
  // The ATECC608 does not normalise s: a high-s signature is valid and must verify.
  CHECK(v.root.member("high_s", high_s));
  uint8_t record[ww::kReadingLen], signature[64], digest[32];
  CHECK(hex_member(high_s, "record", record));
  CHECK(hex_member(high_s, "signature", signature));
  ww::record_hash(record, sizeof record, digest);
  CHECK(ww_host::openssl_verify(public_key, digest, signature));
  CHECK(v.root.member("negatives", negatives));
  CHECK(negatives.at(0, item));
  CHECK_EQ(string_member(item, "expect"), std::string("invalid_signature"));
  CHECK(hex_member(item, "record", record));
  CHECK(hex_member(item, "signature", signature));
  ww::record_hash(record, sizeof record, digest);
  CHECK(!ww_host::openssl_verify(public_key, digest, signature));
}

TEST(enrollment_record_is_reproduced_and_its_signature_verifies) {
  Vectors v;
  CHECK(load(v));
  ww::JsonValue enrollment;
  CHECK(v.root.member("enrollment", enrollment));
  uint8_t mac[6], public_key[64], record[ww::kEnrollmentLen], signature[64], digest[32];
  CHECK(ww::parse_mac(string_member(enrollment, "meter"), mac));
  CHECK(hex_member(enrollment, "public", public_key));
  ww::encode_enrollment(mac, static_cast<uint64_t>(int_member(enrollment, "ts")), public_key, record);
  CHECK_EQ(ww::to_hex(record, sizeof record), string_member(enrollment, "record"));
  CHECK(hex_member(enrollment, "signature", signature));
  ww::record_hash(record, sizeof record, digest);
  CHECK(ww_host::openssl_verify(public_key, digest, signature));
}

TEST(secure_element_adapter_with_the_vector_key_gives_its_public_key_and_valid_signatures) {
  Vectors v;
  CHECK(load(v));
  ww::JsonValue key, chain, item;
  CHECK(v.root.member("key", key));
  uint8_t scalar[32], expected_public[64], public_key[64];
  CHECK(hex_member(key, "private_scalar_hex", scalar));
  CHECK(hex_member(key, "public", expected_public));
  ww_host::FakeEccx08 chip;
  CHECK(chip.load_scalar(scalar));
  ww::Eccx08SecureElement<ww_host::FakeEccx08> element(chip);
  CHECK(element.begin());
  CHECK(element.public_key(public_key));
  CHECK(std::memcmp(public_key, expected_public, 64) == 0);
  CHECK_EQ(ww::key_id(public_key), string_member(key, "key_id"));
  CHECK(v.root.member("chain", chain));
  CHECK(chain.at(0, item));
  uint8_t record[ww::kReadingLen], digest[32], signature[64];
  CHECK(hex_member(item, "record", record));
  ww::record_hash(record, sizeof record, digest);
  CHECK(element.sign_digest(digest, signature));
  CHECK(ww_host::openssl_verify(public_key, digest, signature));
  // ECDSA with a random nonce: a second signature differs but verifies too.
  uint8_t again[64];
  CHECK(element.sign_digest(digest, again));
  CHECK(std::memcmp(again, signature, 64) != 0);
  CHECK(ww_host::openssl_verify(public_key, digest, again));
}

TEST(secure_element_refuses_an_unlocked_chip_and_counts_boots) {
  ww_host::FakeEccx08 chip;
  uint8_t scalar[32] = {0};
  scalar[31] = 7;
  CHECK(chip.load_scalar(scalar));
  ww::Eccx08SecureElement<ww_host::FakeEccx08> element(chip);
  uint32_t first = 0, second = 0;
  CHECK(element.next_boot_epoch(first));
  CHECK(element.next_boot_epoch(second));
  CHECK_EQ(second, first + 1);
  chip.set_locked(false);
  CHECK(!element.begin());
}

TEST(sha256_matches_openssl_on_every_length_around_block_boundaries) {
  uint8_t data[300];
  for (size_t i = 0; i < sizeof data; ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
  for (size_t length = 0; length <= sizeof data; ++length) {
    uint8_t ours[32], theirs[32];
    ww::sha256(data, length, ours);
    ww_host::openssl_sha256(data, length, theirs);
    if (std::memcmp(ours, theirs, 32) != 0) {
      CHECK_EQ(ww::to_hex(ours, 32), ww::to_hex(theirs, 32));
      break;
    }
  }
  // FIPS 180-2 example "abc".
  uint8_t digest[32];
  ww::sha256(reinterpret_cast<const uint8_t*>("abc"), 3, digest);
  CHECK_EQ(ww::to_hex(digest, 32), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  // Incremental updates give the same digest as one call.
  ww::Sha256 hasher;
  hasher.update(data, 10);
  hasher.update(data + 10, 100);
  hasher.update(data + 110, 190);
  uint8_t split[32], whole[32];
  hasher.finish(split);
  ww::sha256(data, 300, whole);
  CHECK(std::memcmp(split, whole, 32) == 0);
}

TEST(negative_power_is_twos_complement_big_endian) {
  ww::Reading reading{};
  reading.power_mw = -30490;
  uint8_t record[ww::kReadingLen];
  ww::encode_reading(reading, record);
  CHECK_EQ(ww::to_hex(record + 26, 8), std::string("ffffffffffff88e6"));
  ww::Reading decoded;
  CHECK(ww::decode_reading(record, sizeof record, decoded));
  CHECK_EQ(decoded.power_mw, static_cast<int64_t>(-30490));
  CHECK(!ww::decode_reading(record, sizeof record - 1, decoded));
  record[2] = 1;
  CHECK(!ww::decode_reading(record, sizeof record, decoded));
}
