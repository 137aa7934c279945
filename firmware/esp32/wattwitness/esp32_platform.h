// The ESP32 side of the core's interfaces (Arduino-ESP32 core 2.x/3.x): HTTPClient over
// WiFiClientSecure with the provisioned CA pinned (server) or WiFiClient (the Shelly on the LAN),
// the record ring on LittleFS, chain head / enrollment flag / settings in Preferences (NVS),
// NTP-backed clock and the serial log. Only this file and wattwitness.ino include Arduino headers.
#pragma once

#include <Arduino.h>

#include "src/core/device_loop.h"
#include "src/core/settings.h"
#include "src/core/storage.h"

namespace ww_esp32 {

class ArduinoHttp : public ww::HttpClient {
 public:
  // `ca_pem` must outlive this object: WiFiClientSecure keeps the pointer.
  explicit ArduinoHttp(const std::string& ca_pem) : ca_pem_(ca_pem) {}
  ww::HttpResponse get(const std::string& url) override;
  ww::HttpResponse post_json(const std::string& url, const std::string& body, const std::string& bearer,
                             long outbox_depth) override;

 private:
  ww::HttpResponse exchange(const std::string& url, const std::string* body, const std::string& bearer,
                            long outbox_depth);
  const std::string& ca_pem_;
};

// The ring's byte region as 4 KiB files under /ring on LittleFS. LittleFS rewrites a file's data from
// the written block to its end, so one big file would turn each 142-byte slot write into up to a
// megabyte of flash writes; one small file per page keeps a slot write to one block.
class LittleFsFlash : public ww::FlashRegion {
 public:
  static constexpr uint32_t kPageSize = 4096;
  bool begin(uint32_t size);
  bool read(uint32_t offset, uint8_t* data, size_t length) override;
  bool write(uint32_t offset, const uint8_t* data, size_t length) override;
  bool sync() override { return true; }  // each write closes its file, which commits it in LittleFS

 private:
  uint32_t size_ = 0;
};

class PreferencesStore : public ww::DeviceStore {
 public:
  bool load_head(ww::ChainHead& head) override;
  bool save_head(const ww::ChainHead& head) override;
  bool enrolled() override;
  // Also deletes the enrollment token: it was single-use and is spent now.
  bool set_enrolled() override;
};

bool load_settings(ww::Settings& settings);
bool save_settings(const ww::Settings& settings);
// Forgets settings, chain head and enrollment (not the ATECC608 key, which cannot be read or erased).
void erase_device_state();
bool key_generated();
void mark_key_generated();

class ArduinoClock : public ww::Clock {
 public:
  uint64_t unix_seconds() override;
  uint64_t millis() override { return ::millis(); }
};

class SerialLog : public ww::LogSink {
 public:
  void line(const std::string& text) override;
};

}  // namespace ww_esp32
