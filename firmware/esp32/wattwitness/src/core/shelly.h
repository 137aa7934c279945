// Parsers for the Shelly EM's answers: Gen1 `GET /status` and Gen2+ RPC (Shelly.GetDeviceInfo,
// EM1.GetStatus, EM1Data.GetStatus, Sys.GetStatus). Units as PROTOCOL.md §2: power W -> mW, the
// energy counter Wh -> mWh, both converted exactly from the JSON text (never float, never kWh).
#pragma once

#include <cstdint>
#include <string>

#include "record.h"

namespace ww {

enum class ShellyError {
  kOk,
  kBadJson,
  kMissingField,
  kBadNumber,
  kBadMac,
  kNoSuchChannel,
  kInvalidMeasurement,  // Gen1 `is_valid: false` or Gen2 `errors: [...]`
  kNegativeEnergy,
};

const char* shelly_error_text(ShellyError error);

struct MeterSample {
  uint8_t mac[kMacLen];
  uint64_t unixtime;  // the meter's clock; 0 when it has not synced (then the device's clock is used)
  int64_t power_mw;
  uint64_t energy_mwh;
};

// Gen1 `/status`: mac, unixtime, emeters[channel].{power, total, is_valid}.
ShellyError parse_gen1_status(const std::string& body, unsigned channel, MeterSample& sample);

// Gen2 RPC answers, either bare (`GET /rpc/<method>`) or wrapped in a JSON-RPC frame {"result": {...}}.
ShellyError parse_gen2_device_info(const std::string& body, uint8_t mac[kMacLen]);
ShellyError parse_gen2_em1_status(const std::string& body, int64_t& power_mw);
ShellyError parse_gen2_em1data_status(const std::string& body, uint64_t& energy_mwh);
// Sys.GetStatus `unixtime`; 0 when null or absent (clock not synced).
ShellyError parse_gen2_sys_status(const std::string& body, uint64_t& unixtime);

}  // namespace ww
