// The device's provisioned settings and the serial provisioning commands that fill them. Nothing here
// is compiled into the firmware image as a value: Wi-Fi, server, meter, token and CA come over serial
// and are stored in flash (Preferences) by the sketch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "device_loop.h"

namespace ww {

struct Settings {
  std::string wifi_ssid;
  std::string wifi_password;
  std::string server_url;
  std::string meter_url;
  int meter_generation = 1;
  unsigned channel = 0;
  std::string enrollment_token;
  std::string installation_name = "ESP32 WattWitness";
  std::string timezone = "UTC";
  uint32_t capacity_w = 0;
  std::string ntp_server = "pool.ntp.org";
  std::string ca_pem;  // the CA that signed the server's certificate (pinned with setCACert)
};

// Names accepted by `set <name> <value>`, in the order `show` prints them.
const std::vector<std::string>& setting_names();

// Applies one `set`; false with `error` for an unknown name or a value that cannot be right.
bool apply_setting(Settings& settings, const std::string& name, const std::string& value, std::string& error);

// What `show` prints for a setting: secrets (Wi-Fi password, token) as "(set)" or "(empty)".
std::string shown_value(const Settings& settings, const std::string& name);

// Everything needed to run: Wi-Fi, an https server URL, a meter URL and a CA certificate. The token is
// needed only until the device has enrolled.
bool settings_complete(const Settings& settings, bool enrolled, std::string& missing);

DeviceConfig device_config(const Settings& settings);

// Serial console: feed it one line at a time. Multi-line input (`ca` ... END CERTIFICATE) is collected.
class ProvisioningConsole {
 public:
  enum class Action { kNone, kSave, kReboot, kGenerateKey, kErase };

  explicit ProvisioningConsole(Settings& settings) : settings_(settings), reading_ca_(false) {}
  // Handles one line; `reply` gets the text to print. Returns what the sketch must do next.
  Action handle_line(const std::string& line, std::string& reply);

 private:
  Settings& settings_;
  bool reading_ca_;
  std::string ca_buffer_;
};

}  // namespace ww
