// Arduino-ESP32 implementations of the core's HTTP, flash, preferences, clock and log interfaces.
// Not compiled on the development machine (no ESP32 toolchain there); see ../README.md.
#include "esp32_platform.h"

#include <HTTPClient.h>
#include <LittleFS.h>
#include <Preferences.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>
#include <time.h>

namespace ww_esp32 {

namespace {

const char* kStateNamespace = "ww";      // chain head, enrollment flag, key flag
const char* kSettingsNamespace = "wwcfg";  // provisioned settings
const uint16_t kHttpTimeoutMs = 15000;

String page_path(uint32_t page) { return String("/ring/p") + String(page); }

}  // namespace

ww::HttpResponse ArduinoHttp::exchange(const std::string& url_text, const std::string* body, const std::string& bearer,
                                       long outbox_depth) {
  ww::Url url;
  if (!ww::parse_url(url_text, url)) return {-100, ""};
  // The transports are declared first so they outlive `http`, whose destructor still touches its client.
  WiFiClientSecure secure;
  WiFiClient plain;
  HTTPClient http;
  http.setTimeout(kHttpTimeoutMs);
  http.setReuse(false);
  bool begun;
  if (url.tls) {
    // The server's certificate must chain to the provisioned CA; there is no unverified fallback.
    secure.setCACert(ca_pem_.c_str());
    begun = http.begin(secure, url_text.c_str());
  } else {
    begun = http.begin(plain, url_text.c_str());
  }
  if (!begun) return {-101, ""};
  if (!bearer.empty()) http.addHeader("Authorization", String("Bearer ") + bearer.c_str());
  if (outbox_depth >= 0) http.addHeader("X-WattWitness-Outbox-Depth", String(outbox_depth));
  int status;
  if (body) {
    http.addHeader("Content-Type", "application/json");
    status = http.POST(reinterpret_cast<uint8_t*>(const_cast<char*>(body->data())), body->size());
  } else {
    status = http.GET();
  }
  ww::HttpResponse response{status, ""};
  if (status > 0) response.body = http.getString().c_str();
  http.end();
  return response;
}

ww::HttpResponse ArduinoHttp::get(const std::string& url) { return exchange(url, nullptr, std::string(), -1); }

ww::HttpResponse ArduinoHttp::post_json(const std::string& url, const std::string& body, const std::string& bearer,
                                        long outbox_depth) {
  return exchange(url, &body, bearer, outbox_depth);
}

bool LittleFsFlash::begin(uint32_t size) {
  size_ = size;
  if (!LittleFS.exists("/ring") && !LittleFS.mkdir("/ring")) return false;
  uint8_t blank[256];
  memset(blank, 0xFF, sizeof blank);
  for (uint32_t page = 0; page * kPageSize < size; ++page) {
    String path = page_path(page);
    if (LittleFS.exists(path)) continue;
    File file = LittleFS.open(path, "w");
    if (!file) return false;
    for (uint32_t written = 0; written < kPageSize; written += sizeof blank) {
      if (file.write(blank, sizeof blank) != sizeof blank) return false;
    }
    file.close();
  }
  return true;
}

bool LittleFsFlash::read(uint32_t offset, uint8_t* data, size_t length) {
  if (offset + length > size_) return false;
  while (length > 0) {
    uint32_t page = offset / kPageSize, within = offset % kPageSize;
    size_t take = length < kPageSize - within ? length : kPageSize - within;
    File file = LittleFS.open(page_path(page), "r");
    if (!file || !file.seek(within) || file.read(data, take) != take) return false;
    file.close();
    offset += take;
    data += take;
    length -= take;
  }
  return true;
}

bool LittleFsFlash::write(uint32_t offset, const uint8_t* data, size_t length) {
  if (offset + length > size_) return false;
  while (length > 0) {
    uint32_t page = offset / kPageSize, within = offset % kPageSize;
    size_t take = length < kPageSize - within ? length : kPageSize - within;
    File file = LittleFS.open(page_path(page), "r+");
    if (!file || !file.seek(within) || file.write(data, take) != take) return false;
    file.close();
    offset += take;
    data += take;
    length -= take;
  }
  return true;
}

bool PreferencesStore::load_head(ww::ChainHead& head) {
  Preferences prefs;
  if (!prefs.begin(kStateNamespace, true)) return false;
  uint8_t blob[ww::kChainHeadBlobLen];
  size_t n = prefs.getBytes("head", blob, sizeof blob);
  prefs.end();
  return ww::decode_chain_head(blob, n, head);
}

bool PreferencesStore::save_head(const ww::ChainHead& head) {
  uint8_t blob[ww::kChainHeadBlobLen];
  ww::encode_chain_head(head, blob);
  Preferences prefs;
  if (!prefs.begin(kStateNamespace, false)) return false;
  bool ok = prefs.putBytes("head", blob, sizeof blob) == sizeof blob;
  prefs.end();
  return ok;
}

bool PreferencesStore::enrolled() {
  Preferences prefs;
  if (!prefs.begin(kStateNamespace, true)) return false;
  bool value = prefs.getBool("enrolled", false);
  prefs.end();
  return value;
}

bool PreferencesStore::set_enrolled() {
  Preferences prefs;
  if (!prefs.begin(kStateNamespace, false)) return false;
  bool ok = prefs.putBool("enrolled", true) == 1;
  prefs.end();
  if (prefs.begin(kSettingsNamespace, false)) {
    prefs.remove("token");
    prefs.end();
  }
  return ok;
}

bool load_settings(ww::Settings& settings) {
  Preferences prefs;
  if (!prefs.begin(kSettingsNamespace, true)) return false;
  settings.wifi_ssid = prefs.getString("wifi_ssid", "").c_str();
  settings.wifi_password = prefs.getString("wifi_pass", "").c_str();
  settings.server_url = prefs.getString("server_url", "").c_str();
  settings.meter_url = prefs.getString("meter_url", "").c_str();
  settings.meter_generation = prefs.getUChar("meter_gen", 1);
  settings.channel = prefs.getUChar("channel", 0);
  settings.enrollment_token = prefs.getString("token", "").c_str();
  settings.installation_name = prefs.getString("name", "ESP32 WattWitness").c_str();
  settings.timezone = prefs.getString("timezone", "UTC").c_str();
  settings.capacity_w = prefs.getULong("capacity_w", 0);
  settings.ntp_server = prefs.getString("ntp", "pool.ntp.org").c_str();
  settings.ca_pem = prefs.getString("ca_pem", "").c_str();
  prefs.end();
  return true;
}

bool save_settings(const ww::Settings& s) {
  Preferences prefs;
  if (!prefs.begin(kSettingsNamespace, false)) return false;
  bool ok = prefs.putString("wifi_ssid", s.wifi_ssid.c_str()) == s.wifi_ssid.size();
  prefs.putString("wifi_pass", s.wifi_password.c_str());
  ok = ok && prefs.putString("server_url", s.server_url.c_str()) == s.server_url.size();
  ok = ok && prefs.putString("meter_url", s.meter_url.c_str()) == s.meter_url.size();
  prefs.putUChar("meter_gen", static_cast<uint8_t>(s.meter_generation));
  prefs.putUChar("channel", static_cast<uint8_t>(s.channel));
  if (!s.enrollment_token.empty()) prefs.putString("token", s.enrollment_token.c_str());
  prefs.putString("name", s.installation_name.c_str());
  prefs.putString("timezone", s.timezone.c_str());
  prefs.putULong("capacity_w", s.capacity_w);
  prefs.putString("ntp", s.ntp_server.c_str());
  ok = ok && prefs.putString("ca_pem", s.ca_pem.c_str()) == s.ca_pem.size();
  prefs.end();
  return ok;
}

void erase_device_state() {
  Preferences prefs;
  if (prefs.begin(kSettingsNamespace, false)) {
    prefs.clear();
    prefs.end();
  }
  if (prefs.begin(kStateNamespace, false)) {
    // The key flag stays: slot 0 still holds the key, and regenerating it would change the identity.
    bool key_done = prefs.getBool("key_done", false);
    prefs.clear();
    if (key_done) prefs.putBool("key_done", true);
    prefs.end();
  }
  for (uint32_t page = 0; LittleFS.exists(page_path(page)); ++page) LittleFS.remove(page_path(page));
}

bool key_generated() {
  Preferences prefs;
  if (!prefs.begin(kStateNamespace, true)) return false;
  bool value = prefs.getBool("key_done", false);
  prefs.end();
  return value;
}

void mark_key_generated() {
  Preferences prefs;
  if (prefs.begin(kStateNamespace, false)) {
    prefs.putBool("key_done", true);
    prefs.end();
  }
}

uint64_t ArduinoClock::unix_seconds() {
  time_t now = time(nullptr);
  return now > 0 ? static_cast<uint64_t>(now) : 0;
}

void SerialLog::line(const std::string& text) { Serial.println(text.c_str()); }

}  // namespace ww_esp32
