// WattWitness signing device: ESP32 + ATECC608 reading a Shelly EM every 10 s and sending signed WW2
// records to the WattWitness server. This sketch is only glue: the logic (records, chain, ring buffer,
// Shelly parsing, enrollment, upload) is the plain C++ in src/core/, tested on the host with g++.
// Board: any ESP32 with an ATECC608 on I2C (SDA 21, SCL 22, address 0x60). See ../README.md.
#include <ArduinoECCX08.h>
#include <LittleFS.h>
#include <WiFi.h>
#include <Wire.h>
#include <utility/ECCX08DefaultTLSConfig.h>

#include "esp32_platform.h"
#include "src/core/bytes.h"
#include "src/core/device_loop.h"
#include "src/core/record_ring.h"
#include "src/core/secure_element.h"
#include "src/core/settings.h"

namespace {

const int kI2cSda = 21;
const int kI2cScl = 22;
const uint32_t kProvisionWindowMs = 5000;
const uint32_t kWifiTimeoutMs = 30000;
const uint32_t kNtpTimeoutMs = 20000;

ww::Settings g_settings;
ww_esp32::SerialLog g_log;
ww_esp32::ArduinoClock g_clock;
ww_esp32::PreferencesStore g_store;
ww_esp32::LittleFsFlash g_flash;
ww::Eccx08SecureElement<ECCX08Class> g_secure_element(ECCX08);
ww_esp32::ArduinoHttp* g_http = nullptr;
ww::RecordRing* g_ring = nullptr;
ww::DeviceLoop* g_device = nullptr;

String read_line() {
  String line;
  while (true) {
    while (!Serial.available()) delay(5);
    char c = static_cast<char>(Serial.read());
    if (c == '\n') return line;
    if (c != '\r') line += c;
  }
}

// `keygen`: lock the chip with ArduinoECCX08's default configuration if it is blank, then create the
// slot-0 key once. The private key is generated inside the chip and never leaves it.
void provision_secure_element() {
  if (!ECCX08.begin()) {
    g_log.line("ERR no ATECC608 answering at I2C address 0x60");
    return;
  }
  if (!ECCX08.locked()) {
    g_log.line("KEYGEN writing the default configuration and locking the ATECC608 (permanent)");
    if (!ECCX08.writeConfiguration(ECCX08_DEFAULT_TLS_CONFIG) || !ECCX08.lock()) {
      g_log.line("ERR configuring or locking the ATECC608 failed");
      return;
    }
  }
  uint8_t public_key[ww::kPublicKeyLen];
  if (ww_esp32::key_generated()) {
    if (ECCX08.generatePublicKey(ww::kKeySlot, public_key)) {
      g_log.line("KEY exists: slot 0 keeps its key; public=" + ww::to_hex(public_key, sizeof public_key) +
                 " key_id=" + ww::key_id(public_key));
    }
    return;
  }
  if (!ECCX08.generatePrivateKey(ww::kKeySlot, public_key)) {
    g_log.line("ERR generating the slot-0 key failed");
    return;
  }
  ww_esp32::mark_key_generated();
  g_log.line("KEY generated public=" + ww::to_hex(public_key, sizeof public_key) + " key_id=" + ww::key_id(public_key));
}

// The serial console; returns only by rebooting.
void provisioning_console() {
  g_log.line("PROVISION console ready; 'help' lists the commands");
  ww::ProvisioningConsole console(g_settings);
  while (true) {
    std::string reply;
    ww::ProvisioningConsole::Action action = console.handle_line(read_line().c_str(), reply);
    if (!reply.empty()) g_log.line(reply);
    switch (action) {
      case ww::ProvisioningConsole::Action::kSave:
        g_log.line(ww_esp32::save_settings(g_settings) ? "OK saved" : "ERR saving settings failed");
        break;
      case ww::ProvisioningConsole::Action::kGenerateKey:
        provision_secure_element();
        break;
      case ww::ProvisioningConsole::Action::kErase:
        ww_esp32::erase_device_state();
        ESP.restart();
        break;
      case ww::ProvisioningConsole::Action::kReboot:
        ESP.restart();
        break;
      case ww::ProvisioningConsole::Action::kNone:
        break;
    }
  }
}

bool wants_console() {
  g_log.line("PROVISION press 'p' within 5 s for the provisioning console");
  uint32_t start = millis();
  while (millis() - start < kProvisionWindowMs) {
    if (Serial.available() && Serial.read() == 'p') {
      while (Serial.available()) Serial.read();
      return true;
    }
    delay(10);
  }
  return false;
}

void connect_wifi() {
  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);
  WiFi.begin(g_settings.wifi_ssid.c_str(), g_settings.wifi_password.c_str());
  uint32_t start = millis();
  while (WiFi.status() != WL_CONNECTED && millis() - start < kWifiTimeoutMs) delay(250);
  if (WiFi.status() == WL_CONNECTED) {
    g_log.line(std::string("WIFI connected ip=") + WiFi.localIP().toString().c_str());
  } else {
    g_log.line("WIFI not connected yet; readings are signed and queued meanwhile");
  }
}

void sync_clock() {
  configTime(0, 0, g_settings.ntp_server.c_str());
  uint32_t start = millis();
  while (g_clock.unix_seconds() < ww::kEarliestPlausibleTs && millis() - start < kNtpTimeoutMs) delay(250);
  if (g_clock.unix_seconds() >= ww::kEarliestPlausibleTs) {
    g_log.line("NTP synced ts=" + std::to_string(g_clock.unix_seconds()));
  } else {
    g_log.line("NTP not synced yet; the meter's own clock is used when it has one");
  }
}

}  // namespace

void setup() {
  Serial.begin(115200);
  delay(200);
  g_log.line("WATTWITNESS firmware WW2 starting");
  Wire.begin(kI2cSda, kI2cScl);
  if (!LittleFS.begin(true)) g_log.line("ERROR LittleFS could not be mounted or formatted");
  ww_esp32::load_settings(g_settings);

  std::string missing;
  bool complete = ww::settings_complete(g_settings, g_store.enrolled(), missing);
  if (!complete) g_log.line("PROVISION missing settings: " + missing);
  if (!complete || wants_console()) provisioning_console();

  connect_wifi();
  sync_clock();

  const uint32_t capacity = ww::kDefaultRingCapacity;
  // On the first boot this creates ~1.2 MB of page files, which takes a while.
  g_log.line("RING opening " + std::to_string(capacity) + " slots on LittleFS");
  if (!g_flash.begin(ww::RecordRing::region_size(capacity))) g_log.line("ERROR ring buffer files could not be created");
  g_ring = new ww::RecordRing(g_flash, capacity);
  if (!g_ring->open()) g_log.line("ERROR ring buffer could not be opened");
  g_http = new ww_esp32::ArduinoHttp(g_settings.ca_pem);
  g_device = new ww::DeviceLoop(ww::device_config(g_settings), g_secure_element, *g_http, *g_ring, g_store, g_clock,
                                g_log);
  if (!g_device->start()) {
    // Without a key and a fresh boot epoch nothing may be signed; the console lets the installer fix it.
    provisioning_console();
  }
}

void loop() {
  g_device->tick();
  if (Serial.available() && Serial.read() == 'p') provisioning_console();
  delay(50);
}
