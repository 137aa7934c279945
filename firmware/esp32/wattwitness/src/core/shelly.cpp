// Shelly Gen1/Gen2 answer parsing on top of json.h and decimal.h.
#include "shelly.h"

#include "decimal.h"
#include "json.h"

namespace ww {

namespace {

ShellyError milli_field(const JsonValue& object, const char* key, int64_t& out) {
  JsonValue value;
  if (!object.member(key, value)) return ShellyError::kMissingField;
  std::string text = value.number_text();
  if (text.empty() || !milli_from_decimal_text(text.data(), text.size(), out)) return ShellyError::kBadNumber;
  return ShellyError::kOk;
}

ShellyError mac_field(const JsonValue& object, uint8_t mac[kMacLen]) {
  JsonValue value;
  std::string text;
  if (!object.member("mac", value)) return ShellyError::kMissingField;
  if (!value.string(text) || !parse_mac(text, mac)) return ShellyError::kBadMac;
  return ShellyError::kOk;
}

// A positive integer clock, or 0 for null/0/absent (the Shelly reports those before its NTP sync).
uint64_t unixtime_field(const JsonValue& object) {
  JsonValue value;
  if (!object.member("unixtime", value)) return 0;
  std::string text = value.number_text();
  int64_t milli = 0;
  if (text.empty() || !milli_from_decimal_text(text.data(), text.size(), milli) || milli <= 0) return 0;
  return static_cast<uint64_t>(milli / 1000);
}

// Gen2 RPC over HTTP GET answers with the bare result; over POST /rpc with a frame holding "result".
bool rpc_result(const std::string& body, JsonValue& result) {
  JsonValue root;
  if (!JsonValue::parse(body, root) || root.type() != JsonType::kObject) return false;
  if (!root.member("result", result)) result = root;
  return result.type() == JsonType::kObject;
}

}  // namespace

const char* shelly_error_text(ShellyError error) {
  switch (error) {
    case ShellyError::kOk: return "ok";
    case ShellyError::kBadJson: return "answer is not the expected JSON object";
    case ShellyError::kMissingField: return "a required field is missing";
    case ShellyError::kBadNumber: return "a number field is not a finite decimal";
    case ShellyError::kBadMac: return "mac is not 12 hex digits";
    case ShellyError::kNoSuchChannel: return "the meter has no such channel";
    case ShellyError::kInvalidMeasurement: return "the meter marks the measurement invalid";
    case ShellyError::kNegativeEnergy: return "the energy counter is negative";
  }
  return "unknown error";
}

ShellyError parse_gen1_status(const std::string& body, unsigned channel, MeterSample& sample) {
  JsonValue root, emeters, emeter, valid;
  if (!JsonValue::parse(body, root) || root.type() != JsonType::kObject) return ShellyError::kBadJson;
  ShellyError error = mac_field(root, sample.mac);
  if (error != ShellyError::kOk) return error;
  if (!root.member("emeters", emeters)) return ShellyError::kMissingField;
  if (!emeters.at(channel, emeter) || emeter.type() != JsonType::kObject) return ShellyError::kNoSuchChannel;
  if (emeter.member("is_valid", valid) && valid.is_false()) return ShellyError::kInvalidMeasurement;
  int64_t energy = 0;
  if ((error = milli_field(emeter, "power", sample.power_mw)) != ShellyError::kOk) return error;
  if ((error = milli_field(emeter, "total", energy)) != ShellyError::kOk) return error;
  if (energy < 0) return ShellyError::kNegativeEnergy;
  sample.energy_mwh = static_cast<uint64_t>(energy);
  sample.unixtime = unixtime_field(root);
  return ShellyError::kOk;
}

ShellyError parse_gen2_device_info(const std::string& body, uint8_t mac[kMacLen]) {
  JsonValue result;
  if (!rpc_result(body, result)) return ShellyError::kBadJson;
  return mac_field(result, mac);
}

ShellyError parse_gen2_em1_status(const std::string& body, int64_t& power_mw) {
  JsonValue result, errors;
  if (!rpc_result(body, result)) return ShellyError::kBadJson;
  if (result.member("errors", errors) && errors.size() > 0) return ShellyError::kInvalidMeasurement;
  return milli_field(result, "act_power", power_mw);
}

ShellyError parse_gen2_em1data_status(const std::string& body, uint64_t& energy_mwh) {
  JsonValue result;
  int64_t energy = 0;
  if (!rpc_result(body, result)) return ShellyError::kBadJson;
  ShellyError error = milli_field(result, "total_act_energy", energy);
  if (error != ShellyError::kOk) return error;
  if (energy < 0) return ShellyError::kNegativeEnergy;
  energy_mwh = static_cast<uint64_t>(energy);
  return ShellyError::kOk;
}

ShellyError parse_gen2_sys_status(const std::string& body, uint64_t& unixtime) {
  JsonValue result;
  if (!rpc_result(body, result)) return ShellyError::kBadJson;
  unixtime = unixtime_field(result);
  return ShellyError::kOk;
}

}  // namespace ww
