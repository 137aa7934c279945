// The device's life as a state machine, free of Arduino: once per boot take a new epoch from the
// secure element and restore the chain head; then on every tick read the meter on schedule, build and
// sign a WW2 record, queue it on flash, enroll once, and send queued records in order, deleting only
// what the server answered for. The ESP32 sketch and the host build drive the same class.
#pragma once

#include <cstdint>
#include <string>

#include "http.h"
#include "meter.h"
#include "record_ring.h"
#include "secure_element.h"
#include "storage.h"

namespace ww {

struct DeviceConfig {
  std::string server_url;        // e.g. https://wattwitness.example.org (https required on the ESP32)
  std::string meter_url;         // e.g. http://192.168.1.50
  int meter_generation = 1;      // 1: Shelly EM /status, 2: Gen2+ RPC
  unsigned channel = 0;          // emeters[i] / EM1 id
  std::string enrollment_token;  // one-time token from POST /api/v1/enrollment-tokens/
  std::string installation_name = "ESP32 WattWitness";
  std::string timezone = "UTC";
  uint32_t capacity_w = 0;
  uint32_t interval_ms = 10000;
  uint32_t batch_max = 50;
  uint32_t retry_max_ms = 300000;
};

class Clock {
 public:
  virtual ~Clock() {}
  virtual uint64_t unix_seconds() = 0;  // 0 until the clock is set (NTP on the ESP32)
  virtual uint64_t millis() = 0;        // monotonic
};

class LogSink {
 public:
  virtual ~LogSink() {}
  virtual void line(const std::string& text) = 0;
};

// Timestamps before this (2023-01-01) mean neither the meter nor the device knows the time yet.
constexpr uint64_t kEarliestPlausibleTs = 1672531200;

class DeviceLoop {
 public:
  DeviceLoop(const DeviceConfig& config, SecureElement& secure_element, HttpClient& http, RecordRing& ring,
             DeviceStore& store, Clock& clock, LogSink& log);

  // Once per boot. False when the secure element cannot give a key and a new boot epoch: nothing may
  // be signed then.
  bool start();
  // Call often; does whatever is due.
  void tick();

  // The three steps tick() schedules, public for tests.
  bool read_and_sign();
  bool enroll();
  bool send_batch();

  uint32_t boot_epoch() const { return boot_; }
  uint32_t seq() const { return seq_; }
  bool enrolled() const { return enrolled_; }
  uint32_t rejected() const { return rejected_; }
  const ChainHead& head() const { return head_; }
  const std::string& key_id_text() const { return key_id_; }

 private:
  void log(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void recover_head_from_ring();

  DeviceConfig config_;
  SecureElement& secure_element_;
  HttpClient& http_;
  RecordRing& ring_;
  DeviceStore& store_;
  Clock& clock_;
  LogSink& log_;
  MeterReader meter_;

  uint8_t public_key_[kPublicKeyLen];
  std::string key_id_;
  uint32_t boot_;
  uint32_t seq_;
  ChainHead head_;
  bool started_;
  bool enrolled_;
  bool have_mac_;
  uint8_t mac_[kMacLen];
  uint32_t rejected_;
  uint64_t next_read_ms_;
  uint64_t next_send_ms_;
  uint64_t next_enroll_ms_;
  uint32_t send_backoff_ms_;
  uint32_t enroll_backoff_ms_;
};

}  // namespace ww
