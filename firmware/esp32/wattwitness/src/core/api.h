// The server's HTTP contract as the device speaks it (docs/api.md): batch upload body and response,
// enrollment body, error bodies, and what each per-record outcome means for the record ring.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "record_ring.h"

namespace ww {

constexpr const char* kBatchPath = "/api/v1/readings/batch";
constexpr const char* kInstallationsPath = "/api/v1/installations/";

// {"readings":[{"record":"<148 hex>","signature":"<128 hex>"},...]}
std::string build_batch_body(const std::vector<SignedRecord>& entries);

// `outcomes[i]` is the outcome of the i-th record sent; false unless results cover exactly `expected`
// records by index.
bool parse_batch_response(const std::string& body, size_t expected, std::vector<std::string>& outcomes);

enum class Disposition {
  kAcknowledged,  // stored or already stored: verified, gap, counter_reset, duplicate -> delete
  kRejected,      // the server's final verdict against these exact bytes: resending cannot change it -> delete
  kRetry,         // may succeed later (future_timestamp, unknown_meter, anything unknown) -> keep
};
Disposition disposition_of(const std::string& outcome);

struct EnrollmentRequest {
  std::string name;
  uint8_t public_key[kPublicKeyLen];
  uint8_t record[kEnrollmentLen];
  uint8_t signature[kSignatureLen];
  std::string timezone;
  uint32_t capacity_w;
};
std::string build_enrollment_body(const EnrollmentRequest& request);

// {"error": "...", "detail": "..."}; false when the body is not such an object.
bool parse_error_body(const std::string& body, std::string& error, std::string& detail);

}  // namespace ww
