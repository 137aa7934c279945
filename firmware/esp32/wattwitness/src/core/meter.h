// Reads one sample from the configured Shelly (Gen1 or Gen2+) over HTTP and parses it (shelly.h).
#pragma once

#include <string>

#include "http.h"
#include "shelly.h"

namespace ww {

class MeterReader {
 public:
  MeterReader(HttpClient& http, const std::string& base_url, int generation, unsigned channel);

  // False with `error` set when the meter did not answer or answered something unusable.
  bool read(MeterSample& sample, std::string& error);

 private:
  bool get(const std::string& path, std::string& body, std::string& error);

  HttpClient& http_;
  std::string base_url_;
  int generation_;
  unsigned channel_;
  bool have_gen2_mac_;
  uint8_t gen2_mac_[kMacLen];
};

}  // namespace ww
