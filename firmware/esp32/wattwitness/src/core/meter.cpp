// MeterReader: one GET /status for Gen1; Shelly.GetDeviceInfo (once), EM1.GetStatus, EM1Data.GetStatus
// and Sys.GetStatus for Gen2+, the same calls the Python agent makes.
#include "meter.h"

#include <cstring>

namespace ww {

MeterReader::MeterReader(HttpClient& http, const std::string& base_url, int generation, unsigned channel)
    : http_(http), base_url_(base_url), generation_(generation), channel_(channel), have_gen2_mac_(false),
      gen2_mac_{} {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

bool MeterReader::get(const std::string& path, std::string& body, std::string& error) {
  HttpResponse response = http_.get(base_url_ + path);
  if (response.status < 0) {
    error = "meter unreachable (" + path + ")";
    return false;
  }
  if (response.status != 200) {
    error = "meter answered " + path + " with HTTP " + std::to_string(response.status);
    return false;
  }
  body.swap(response.body);
  return true;
}

bool MeterReader::read(MeterSample& sample, std::string& error) {
  std::string body;
  ShellyError parsed;
  if (generation_ == 1) {
    if (!get("/status", body, error)) return false;
    parsed = parse_gen1_status(body, channel_, sample);
    if (parsed != ShellyError::kOk) {
      error = std::string("/status: ") + shelly_error_text(parsed);
      return false;
    }
    return true;
  }
  if (!have_gen2_mac_) {
    if (!get("/rpc/Shelly.GetDeviceInfo", body, error)) return false;
    if ((parsed = parse_gen2_device_info(body, gen2_mac_)) != ShellyError::kOk) {
      error = std::string("Shelly.GetDeviceInfo: ") + shelly_error_text(parsed);
      return false;
    }
    have_gen2_mac_ = true;
  }
  std::string id = "?id=" + std::to_string(channel_);
  if (!get("/rpc/EM1.GetStatus" + id, body, error)) return false;
  if ((parsed = parse_gen2_em1_status(body, sample.power_mw)) != ShellyError::kOk) {
    error = std::string("EM1.GetStatus: ") + shelly_error_text(parsed);
    return false;
  }
  if (!get("/rpc/EM1Data.GetStatus" + id, body, error)) return false;
  if ((parsed = parse_gen2_em1data_status(body, sample.energy_mwh)) != ShellyError::kOk) {
    error = std::string("EM1Data.GetStatus: ") + shelly_error_text(parsed);
    return false;
  }
  if (!get("/rpc/Sys.GetStatus", body, error)) return false;
  if ((parsed = parse_gen2_sys_status(body, sample.unixtime)) != ShellyError::kOk) {
    error = std::string("Sys.GetStatus: ") + shelly_error_text(parsed);
    return false;
  }
  std::memcpy(sample.mac, gen2_mac_, kMacLen);
  return true;
}

}  // namespace ww
