// Serial provisioning: validated settings, secrets never echoed, the CA pasted as PEM.
#include "../wattwitness/src/core/settings.h"
#include "harness.h"

TEST(settings_are_validated_and_https_is_required_for_the_server) {
  ww::Settings settings;
  std::string error;
  CHECK(!ww::apply_setting(settings, "server_url", "http://ww.example.org", error));
  CHECK_EQ(error, std::string("server_url must be https://host[:port]"));
  CHECK(ww::apply_setting(settings, "server_url", "https://ww.example.org", error));
  CHECK(ww::apply_setting(settings, "meter_url", "http://192.168.1.50", error));
  CHECK(!ww::apply_setting(settings, "meter_gen", "3", error));
  CHECK(ww::apply_setting(settings, "meter_gen", "2", error));
  CHECK_EQ(settings.meter_generation, 2);
  CHECK(!ww::apply_setting(settings, "channel", "-1", error));
  CHECK(!ww::apply_setting(settings, "wifi_password", "short", error));
  CHECK(!ww::apply_setting(settings, "colour", "blue", error));
  CHECK_EQ(error, std::string("unknown setting 'colour'"));
  CHECK(ww::apply_setting(settings, "capacity_w", "9800", error));
  ww::DeviceConfig config = ww::device_config(settings);
  CHECK_EQ(config.capacity_w, uint32_t(9800));
  CHECK_EQ(config.meter_generation, 2);
}

TEST(settings_completeness_names_what_is_missing) {
  ww::Settings settings;
  std::string missing;
  CHECK(!ww::settings_complete(settings, false, missing));
  CHECK_EQ(missing, std::string("wifi_ssid server_url meter_url ca token"));
  CHECK(!ww::settings_complete(settings, true, missing));
  CHECK_EQ(missing, std::string("wifi_ssid server_url meter_url ca"));
}

TEST(console_sets_shows_without_secrets_and_reads_a_pem_ca) {
  ww::Settings settings;
  ww::ProvisioningConsole console(settings);
  std::string reply;
  using Action = ww::ProvisioningConsole::Action;
  CHECK(console.handle_line("set wifi_ssid Solar Roof", reply) == Action::kNone);
  CHECK_EQ(reply, std::string("OK wifi_ssid"));
  CHECK_EQ(settings.wifi_ssid, std::string("Solar Roof"));
  console.handle_line("set wifi_password correct horse battery", reply);
  console.handle_line("set token tok-secret-value\r", reply);
  CHECK_EQ(settings.enrollment_token, std::string("tok-secret-value"));
  console.handle_line("show", reply);
  CHECK(reply.find("wifi_password = (set)") != std::string::npos);
  CHECK(reply.find("token = (set)") != std::string::npos);
  CHECK(reply.find("correct horse") == std::string::npos);
  CHECK(reply.find("tok-secret-value") == std::string::npos);
  CHECK(console.handle_line("ca", reply) == Action::kNone);
  console.handle_line("-----BEGIN CERTIFICATE-----", reply);
  console.handle_line("MIIBszCCAVmgAwIBAgIU", reply);
  console.handle_line("-----END CERTIFICATE-----", reply);
  CHECK_EQ(reply.substr(0, 5), std::string("OK ca"));
  CHECK_EQ(settings.ca_pem, std::string("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"));
  CHECK(console.handle_line("save", reply) == Action::kSave);
  CHECK(console.handle_line("keygen", reply) == Action::kGenerateKey);
  CHECK(console.handle_line("reboot", reply) == Action::kReboot);
  CHECK(console.handle_line("frobnicate", reply) == Action::kNone);
  CHECK_EQ(reply.substr(0, 3), std::string("ERR"));
  console.handle_line("ca", reply);
  console.handle_line("not a certificate", reply);
  console.handle_line("-----END CERTIFICATE-----", reply);
  CHECK_EQ(reply.substr(0, 3), std::string("ERR"));
}
