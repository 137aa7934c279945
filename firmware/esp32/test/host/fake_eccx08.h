// A stand-in for ArduinoECCX08's `ECCX08` object on the host: the same method names and signatures the
// firmware uses, backed by OpenSSL (P-256 ECDSA over the given digest, r || s; a monotonic counter kept
// in memory or in a file). Eccx08SecureElement<FakeEccx08> is thus the very adapter the ESP32 runs.
#pragma once

#include <cstdint>
#include <string>

struct ec_key_st;

namespace ww_host {

class FakeEccx08 {
 public:
  FakeEccx08();
  ~FakeEccx08();
  FakeEccx08(const FakeEccx08&) = delete;
  FakeEccx08& operator=(const FakeEccx08&) = delete;

  // Slot 0 from a known 32-byte private scalar (the shared test vectors' key).
  bool load_scalar(const uint8_t scalar[32]);
  // Slot 0 from a PEM file, generating a new key into it when it does not exist.
  bool load_or_create_pem(const std::string& path);
  // Keeps monotonic counter 0 in this file (created at 0) instead of memory.
  void set_counter_file(const std::string& path) { counter_file_ = path; }
  void set_locked(bool locked) { locked_ = locked; }

  // ---- the ArduinoECCX08 surface ----
  int begin() { return key_ != nullptr ? 1 : 0; }
  int locked() { return locked_ ? 1 : 0; }
  int generatePublicKey(int slot, uint8_t public_key[64]);
  int ecSign(int slot, const uint8_t message[32], uint8_t signature[64]);
  int incrementCounter(int counter_id, long& counter);

 private:
  ec_key_st* key_;
  bool locked_;
  long counter_;
  std::string counter_file_;
};

// OpenSSL's own verdict on a raw r || s signature over `digest` under the 64-byte X || Y key.
bool openssl_verify(const uint8_t public_key[64], const uint8_t digest[32], const uint8_t signature[64]);
// OpenSSL's SHA-256, to cross-check the firmware's own implementation.
void openssl_sha256(const uint8_t* data, size_t length, uint8_t digest[32]);

}  // namespace ww_host
