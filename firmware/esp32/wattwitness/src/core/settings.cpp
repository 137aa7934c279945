// Validation of provisioned settings and the serial console's command language.
#include "settings.h"

#include "http.h"

namespace ww {

namespace {

bool parse_unsigned(const std::string& text, uint32_t max, uint32_t& out) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) return false;
  out = static_cast<uint32_t>(value);
  return true;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return std::string();
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

const char* kHelp =
    "commands: show | set <name> <value> | ca (then paste the PEM) | save | keygen | erase | reboot | help\n"
    "names: wifi_ssid wifi_password server_url meter_url meter_gen channel token name timezone capacity_w ntp";

}  // namespace

const std::vector<std::string>& setting_names() {
  static const std::vector<std::string> names = {"wifi_ssid", "wifi_password", "server_url", "meter_url",
                                                 "meter_gen", "channel",       "token",      "name",
                                                 "timezone",  "capacity_w",    "ntp"};
  return names;
}

bool apply_setting(Settings& settings, const std::string& name, const std::string& value, std::string& error) {
  uint32_t number = 0;
  Url url;
  if (name == "wifi_ssid") {
    if (value.empty() || value.size() > 32) return error = "an SSID has 1 to 32 characters", false;
    settings.wifi_ssid = value;
  } else if (name == "wifi_password") {
    if (!value.empty() && (value.size() < 8 || value.size() > 63)) {
      return error = "a WPA2 passphrase has 8 to 63 characters (or leave it empty for an open network)", false;
    }
    settings.wifi_password = value;
  } else if (name == "server_url") {
    // The server link crosses the internet: only TLS with the pinned CA is allowed.
    if (!parse_url(value, url) || !url.tls) return error = "server_url must be https://host[:port]", false;
    settings.server_url = value;
  } else if (name == "meter_url") {
    if (!parse_url(value, url)) return error = "meter_url must be http://address[:port] of the Shelly", false;
    settings.meter_url = value;
  } else if (name == "meter_gen") {
    if (!parse_unsigned(value, 2, number) || number < 1) return error = "meter_gen is 1 (Shelly EM) or 2 (Gen2+)", false;
    settings.meter_generation = static_cast<int>(number);
  } else if (name == "channel") {
    if (!parse_unsigned(value, 15, number)) return error = "channel is 0..15", false;
    settings.channel = number;
  } else if (name == "token") {
    if (value.empty()) return error = "token must not be empty", false;
    settings.enrollment_token = value;
  } else if (name == "name") {
    if (value.empty() || value.size() > 100) return error = "name has 1 to 100 characters", false;
    settings.installation_name = value;
  } else if (name == "timezone") {
    if (value.empty() || value.size() > 64) return error = "timezone is an IANA zone such as Europe/Berlin", false;
    settings.timezone = value;
  } else if (name == "capacity_w") {
    if (!parse_unsigned(value, 100000000, number)) return error = "capacity_w is the peak power in W", false;
    settings.capacity_w = number;
  } else if (name == "ntp") {
    if (value.empty()) return error = "ntp is a host name", false;
    settings.ntp_server = value;
  } else {
    return error = "unknown setting '" + name + "'", false;
  }
  return true;
}

std::string shown_value(const Settings& settings, const std::string& name) {
  if (name == "wifi_ssid") return settings.wifi_ssid;
  if (name == "wifi_password") return settings.wifi_password.empty() ? "(empty)" : "(set)";
  if (name == "server_url") return settings.server_url;
  if (name == "meter_url") return settings.meter_url;
  if (name == "meter_gen") return std::to_string(settings.meter_generation);
  if (name == "channel") return std::to_string(settings.channel);
  if (name == "token") return settings.enrollment_token.empty() ? "(empty)" : "(set)";
  if (name == "name") return settings.installation_name;
  if (name == "timezone") return settings.timezone;
  if (name == "capacity_w") return std::to_string(settings.capacity_w);
  if (name == "ntp") return settings.ntp_server;
  return std::string();
}

bool settings_complete(const Settings& settings, bool enrolled, std::string& missing) {
  missing.clear();
  if (settings.wifi_ssid.empty()) missing += " wifi_ssid";
  if (settings.server_url.empty()) missing += " server_url";
  if (settings.meter_url.empty()) missing += " meter_url";
  if (settings.ca_pem.empty()) missing += " ca";
  if (!enrolled && settings.enrollment_token.empty()) missing += " token";
  if (!missing.empty()) missing.erase(0, 1);
  return missing.empty();
}

DeviceConfig device_config(const Settings& settings) {
  DeviceConfig config;
  config.server_url = settings.server_url;
  config.meter_url = settings.meter_url;
  config.meter_generation = settings.meter_generation;
  config.channel = settings.channel;
  config.enrollment_token = settings.enrollment_token;
  config.installation_name = settings.installation_name;
  config.timezone = settings.timezone;
  config.capacity_w = settings.capacity_w;
  return config;
}

ProvisioningConsole::Action ProvisioningConsole::handle_line(const std::string& raw, std::string& reply) {
  std::string line = trim(raw);
  reply.clear();
  if (reading_ca_) {
    ca_buffer_ += line + "\n";
    if (line == "-----END CERTIFICATE-----") {
      reading_ca_ = false;
      if (ca_buffer_.compare(0, 27, "-----BEGIN CERTIFICATE-----") != 0) {
        ca_buffer_.clear();
        reply = "ERR the CA must be a PEM certificate starting with -----BEGIN CERTIFICATE-----";
        return Action::kNone;
      }
      settings_.ca_pem = ca_buffer_;
      ca_buffer_.clear();
      reply = "OK ca (" + std::to_string(settings_.ca_pem.size()) + " bytes); 'save' to keep it";
    }
    return Action::kNone;
  }
  if (line.empty()) return Action::kNone;
  size_t space = line.find(' ');
  std::string command = line.substr(0, space);
  std::string rest = space == std::string::npos ? std::string() : trim(line.substr(space + 1));
  if (command == "help") {
    reply = kHelp;
  } else if (command == "show") {
    for (const std::string& name : setting_names()) reply += name + " = " + shown_value(settings_, name) + "\n";
    reply += "ca = " + (settings_.ca_pem.empty() ? std::string("(empty)") : std::to_string(settings_.ca_pem.size()) +
                                                                                  " bytes PEM");
  } else if (command == "set") {
    size_t value_at = rest.find(' ');
    std::string name = rest.substr(0, value_at);
    std::string value = value_at == std::string::npos ? std::string() : trim(rest.substr(value_at + 1));
    std::string error;
    reply = apply_setting(settings_, name, value, error) ? "OK " + name : "ERR " + error;
  } else if (command == "ca") {
    reading_ca_ = true;
    ca_buffer_.clear();
    reply = "paste the CA certificate (PEM); it ends at -----END CERTIFICATE-----";
  } else if (command == "save") {
    reply = "saving";
    return Action::kSave;
  } else if (command == "reboot") {
    reply = "rebooting";
    return Action::kReboot;
  } else if (command == "keygen") {
    reply = "generating the slot-0 key (only if the chip has none yet)";
    return Action::kGenerateKey;
  } else if (command == "erase") {
    reply = "erasing settings, chain head and queue";
    return Action::kErase;
  } else {
    reply = "ERR unknown command '" + command + "'; " + kHelp;
  }
  return Action::kNone;
}

}  // namespace ww
