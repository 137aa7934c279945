// What the device loop needs from the secure element, and the adapter that provides it from an
// ArduinoECCX08-style chip object. The adapter is a template so the very same code runs against the
// real `ECCX08` on the ESP32 and against the OpenSSL-backed fake in the host tests.
#pragma once

#include <cstdint>

#include "record.h"

namespace ww {

class SecureElement {
 public:
  virtual ~SecureElement() {}
  // Wakes the chip and checks it is provisioned (configuration and data zones locked).
  virtual bool begin() = 0;
  virtual bool public_key(uint8_t out[kPublicKeyLen]) = 0;
  // ECDSA P-256 over a 32-byte digest with the slot-0 key; r || s, s not normalised (PROTOCOL.md §1).
  virtual bool sign_digest(const uint8_t digest[kSha256Len], uint8_t signature[kSignatureLen]) = 0;
  // Increments monotonic counter 0 and returns its new value: this boot's epoch, never repeated.
  virtual bool next_boot_epoch(uint32_t& epoch) = 0;
};

constexpr int kKeySlot = 0;
constexpr int kBootCounter = 0;

// Chip must offer ArduinoECCX08's calls: begin(), locked(), generatePublicKey(slot, byte[64]),
// ecSign(slot, const byte[32], byte[64]) and incrementCounter(id, long&) (ArduinoECCX08 >= 1.3.8).
template <class Chip>
class Eccx08SecureElement : public SecureElement {
 public:
  explicit Eccx08SecureElement(Chip& chip) : chip_(chip) {}

  bool begin() override { return chip_.begin() == 1 && chip_.locked() == 1; }

  bool public_key(uint8_t out[kPublicKeyLen]) override { return chip_.generatePublicKey(kKeySlot, out) == 1; }

  bool sign_digest(const uint8_t digest[kSha256Len], uint8_t signature[kSignatureLen]) override {
    // ecSign loads the 32 bytes into TempKey (Nonce pass-through) and runs Sign(external): it signs the
    // digest as given, so the caller hashes the record first.
    return chip_.ecSign(kKeySlot, digest, signature) == 1;
  }

  bool next_boot_epoch(uint32_t& epoch) override {
    long value = -1;
    // The ATECC608 counter counts to 2,097,151; at one boot per minute that is four years of reboots.
    if (chip_.incrementCounter(kBootCounter, value) != 1 || value < 1) return false;
    epoch = static_cast<uint32_t>(value);
    return true;
  }

 private:
  Chip& chip_;
};

}  // namespace ww
