// JSON bodies for the batch upload and enrollment, and parsing of the server's answers.
#include "api.h"

#include "bytes.h"
#include "json.h"

namespace ww {

std::string build_batch_body(const std::vector<SignedRecord>& entries) {
  std::string body = "{\"readings\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) body.push_back(',');
    body += "{\"record\":\"" + to_hex(entries[i].record, kReadingLen) + "\",\"signature\":\"" +
            to_hex(entries[i].signature, kSignatureLen) + "\"}";
  }
  body += "]}";
  return body;
}

bool parse_batch_response(const std::string& body, size_t expected, std::vector<std::string>& outcomes) {
  JsonValue root, results, item, index_value, outcome_value;
  if (!JsonValue::parse(body, root) || !root.member("results", results)) return false;
  if (results.type() != JsonType::kArray || results.size() != expected) return false;
  outcomes.assign(expected, std::string());
  for (size_t i = 0; i < expected; ++i) {
    if (!results.at(i, item) || !item.member("index", index_value) || !item.member("outcome", outcome_value)) {
      return false;
    }
    std::string index_text = index_value.number_text();
    std::string outcome;
    if (!outcome_value.string(outcome) || index_text.empty()) return false;
    size_t index = 0;
    for (char c : index_text) {
      if (c < '0' || c > '9') return false;
      index = index * 10 + static_cast<size_t>(c - '0');
      if (index >= expected) return false;
    }
    outcomes[index] = outcome;
  }
  for (const std::string& outcome : outcomes) {
    if (outcome.empty()) return false;
  }
  return true;
}

Disposition disposition_of(const std::string& outcome) {
  if (outcome == "verified" || outcome == "gap" || outcome == "counter_reset" || outcome == "duplicate") {
    return Disposition::kAcknowledged;
  }
  if (outcome == "malformed" || outcome == "invalid_signature" || outcome == "wrong_meter" ||
      outcome == "equivocation" || outcome == "chain_break") {
    return Disposition::kRejected;
  }
  return Disposition::kRetry;
}

std::string build_enrollment_body(const EnrollmentRequest& request) {
  std::string body = "{\"name\":" + json_quote(request.name);
  body += ",\"public_key\":\"" + to_hex(request.public_key, kPublicKeyLen) + "\"";
  body += ",\"enrollment_record\":\"" + to_hex(request.record, kEnrollmentLen) + "\"";
  body += ",\"enrollment_signature\":\"" + to_hex(request.signature, kSignatureLen) + "\"";
  body += ",\"timezone\":" + json_quote(request.timezone);
  body += ",\"capacity_w\":" + std::to_string(request.capacity_w);
  body += "}";
  return body;
}

bool parse_error_body(const std::string& body, std::string& error, std::string& detail) {
  JsonValue root, error_value, detail_value;
  if (!JsonValue::parse(body, root) || !root.member("error", error_value) || !error_value.string(error)) {
    return false;
  }
  detail.clear();
  if (root.member("detail", detail_value)) detail_value.string(detail);
  return true;
}

}  // namespace ww
