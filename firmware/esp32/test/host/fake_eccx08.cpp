// OpenSSL-backed FakeEccx08. Uses the EC_KEY API (deprecated in OpenSSL 3 but present) because it maps
// one to one onto what the chip does: sign a 32-byte digest, return r and s.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "fake_eccx08.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <unistd.h>

#include <cstdio>

namespace ww_host {

FakeEccx08::FakeEccx08() : key_(nullptr), locked_(true), counter_(0) {}

FakeEccx08::~FakeEccx08() {
  if (key_) EC_KEY_free(key_);
}

bool FakeEccx08::load_scalar(const uint8_t scalar[32]) {
  EC_KEY* key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM* d = BN_bin2bn(scalar, 32, nullptr);
  const EC_GROUP* group = EC_KEY_get0_group(key);
  EC_POINT* q = EC_POINT_new(group);
  bool ok = d && EC_POINT_mul(group, q, d, nullptr, nullptr, nullptr) == 1 && EC_KEY_set_private_key(key, d) == 1 &&
            EC_KEY_set_public_key(key, q) == 1;
  EC_POINT_free(q);
  BN_free(d);
  if (!ok) {
    EC_KEY_free(key);
    return false;
  }
  if (key_) EC_KEY_free(key_);
  key_ = key;
  return true;
}

bool FakeEccx08::load_or_create_pem(const std::string& path) {
  EC_KEY* key = nullptr;
  if (FILE* file = std::fopen(path.c_str(), "rb")) {
    key = PEM_read_ECPrivateKey(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    if (!key) return false;
  } else {
    key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (!key || EC_KEY_generate_key(key) != 1) {
      EC_KEY_free(key);
      return false;
    }
    // Written aside and renamed into place: a half-written key file must never become the device's key.
    std::string temporary = path + ".tmp";
    FILE* out = std::fopen(temporary.c_str(), "wb");
    bool written = out && PEM_write_ECPrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (out) written = std::fclose(out) == 0 && written;
    written = written && std::rename(temporary.c_str(), path.c_str()) == 0;
    if (!written) {
      EC_KEY_free(key);
      return false;
    }
  }
  if (key_) EC_KEY_free(key_);
  key_ = key;
  return true;
}

int FakeEccx08::generatePublicKey(int slot, uint8_t public_key[64]) {
  if (slot != 0 || !key_) return 0;
  uint8_t point[65];
  size_t n = EC_POINT_point2oct(EC_KEY_get0_group(key_), EC_KEY_get0_public_key(key_), POINT_CONVERSION_UNCOMPRESSED,
                                point, sizeof point, nullptr);
  if (n != 65) return 0;
  for (int i = 0; i < 64; ++i) public_key[i] = point[i + 1];  // drop the 0x04 prefix, as the chip does
  return 1;
}

int FakeEccx08::ecSign(int slot, const uint8_t message[32], uint8_t signature[64]) {
  if (slot != 0 || !key_ || !locked_) return 0;
  ECDSA_SIG* sig = ECDSA_do_sign(message, 32, key_);
  if (!sig) return 0;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  bool ok = BN_bn2binpad(r, signature, 32) == 32 && BN_bn2binpad(s, signature + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  return ok ? 1 : 0;
}

int FakeEccx08::incrementCounter(int counter_id, long& counter) {
  if (counter_id != 0) return 0;
  if (counter_file_.empty()) {
    counter = ++counter_;
    return 1;
  }
  long value = 0;
  if (FILE* in = std::fopen(counter_file_.c_str(), "r")) {
    if (std::fscanf(in, "%ld", &value) != 1) value = 0;
    std::fclose(in);
  }
  ++value;
  // Like the chip's counter, the increment is all or nothing: write a new file, then rename it over the
  // old one, so a process killed mid-write can never bring an old boot epoch back.
  std::string temporary = counter_file_ + ".tmp";
  FILE* out = std::fopen(temporary.c_str(), "w");
  if (!out) return 0;
  bool ok = std::fprintf(out, "%ld\n", value) > 0 && std::fflush(out) == 0 && fsync(fileno(out)) == 0;
  ok = std::fclose(out) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), counter_file_.c_str()) != 0) return 0;
  counter = value;
  return 1;
}

bool openssl_verify(const uint8_t public_key[64], const uint8_t digest[32], const uint8_t signature[64]) {
  EC_KEY* key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EC_POINT* point = EC_POINT_new(EC_KEY_get0_group(key));
  uint8_t encoded[65];
  encoded[0] = 0x04;
  for (int i = 0; i < 64; ++i) encoded[i + 1] = public_key[i];
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(signature, 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature + 32, 32, nullptr);
  bool ok = EC_POINT_oct2point(EC_KEY_get0_group(key), point, encoded, sizeof encoded, nullptr) == 1 &&
            EC_KEY_set_public_key(key, point) == 1 && ECDSA_SIG_set0(sig, r, s) == 1;
  if (!ok) {
    BN_free(r);
    BN_free(s);
  }
  ok = ok && ECDSA_do_verify(digest, 32, sig, key) == 1;
  ECDSA_SIG_free(sig);
  EC_POINT_free(point);
  EC_KEY_free(key);
  return ok;
}

void openssl_sha256(const uint8_t* data, size_t length, uint8_t digest[32]) { SHA256(data, length, digest); }

}  // namespace ww_host
