// Recorded Shelly answers parsed into exact mW / mWh (the original firmware's Wh*1000 bug must not return).
#include "../wattwitness/src/core/bytes.h"
#include "../wattwitness/src/core/shelly.h"
#include "harness.h"

namespace {

// A Shelly EM Gen1 `/status` answer: mac, unixtime and emeters[0] are from a recorded device answer; the
// surrounding fields follow the Gen1 API's shape so the parser has to skip what it does not read.
const char* kGen1Status =
    R"({"wifi_sta":{"connected":true,"ssid":"solar","ip":"192.168.1.50","rssi":-61},"cloud":{"enabled":false,)"
    R"("connected":false},"mqtt":{"connected":false},"time":"19:04","unixtime":1750352672,"serial":5541,)"
    R"("has_update":false,"mac":"EC64C9C05E97","cfg_changed_cnt":0,"actions_stats":{"skipped":0},)"
    R"("relays":[{"ison":false,"has_timer":false,"timer_started":0,"timer_duration":0,"timer_remaining":0,)"
    R"("overpower":false,"is_valid":true,"source":"input"}],)"
    R"("emeters":[{"power":16.63,"reactive":-30.49,"pf":0.48,"voltage":229.55,"is_valid":true,"total":21700.0,)"
    R"("total_returned":0.0},{"power":-1.25,"reactive":0.00,"pf":0.00,"voltage":229.55,"is_valid":true,)"
    R"("total":0.5,"total_returned":12.3}],"update":{"status":"idle","has_update":false},"ram_total":51264,)"
    R"("ram_free":35324,"fs_size":233681,"fs_free":155620,"uptime":1523})";

}  // namespace

TEST(gen1_status_gives_exact_milliwatts_and_milliwatt_hours) {
  ww::MeterSample sample{};
  CHECK(ww::parse_gen1_status(kGen1Status, 0, sample) == ww::ShellyError::kOk);
  CHECK_EQ(sample.power_mw, static_cast<int64_t>(16630));
  // 21700.0 Wh is 21,700,000 mWh, not 21,700,000,000 (the original firmware's x1000 on a Wh value).
  CHECK_EQ(sample.energy_mwh, static_cast<uint64_t>(21700000));
  CHECK_EQ(sample.unixtime, static_cast<uint64_t>(1750352672));
  CHECK_EQ(ww::to_hex(sample.mac, 6), std::string("ec64c9c05e97"));
}

TEST(gen1_second_channel_and_negative_power) {
  ww::MeterSample sample{};
  CHECK(ww::parse_gen1_status(kGen1Status, 1, sample) == ww::ShellyError::kOk);
  CHECK_EQ(sample.power_mw, static_cast<int64_t>(-1250));
  CHECK_EQ(sample.energy_mwh, static_cast<uint64_t>(500));
  CHECK(ww::parse_gen1_status(kGen1Status, 2, sample) == ww::ShellyError::kNoSuchChannel);
}

TEST(gen1_refuses_invalid_measurements_and_broken_answers) {
  ww::MeterSample sample{};
  CHECK(ww::parse_gen1_status(R"({"mac":"EC64C9C05E97","unixtime":1,"emeters":[{"power":1,"total":2,"is_valid":false}]})",
                              0, sample) == ww::ShellyError::kInvalidMeasurement);
  CHECK(ww::parse_gen1_status(R"({"mac":"EC64C9C05E97","emeters":[{"power":1}]})", 0, sample) ==
        ww::ShellyError::kMissingField);
  CHECK(ww::parse_gen1_status(R"({"mac":"EC64C9C05E97","emeters":[{"power":"1","total":2}]})", 0, sample) ==
        ww::ShellyError::kBadNumber);
  CHECK(ww::parse_gen1_status(R"({"mac":"EC64C9C05E9","emeters":[{"power":1,"total":2}]})", 0, sample) ==
        ww::ShellyError::kBadMac);
  CHECK(ww::parse_gen1_status(R"({"mac":"EC64C9C05E97","emeters":[{"power":1,"total":-2}]})", 0, sample) ==
        ww::ShellyError::kNegativeEnergy);
  CHECK(ww::parse_gen1_status("<html>401</html>", 0, sample) == ww::ShellyError::kBadJson);
  // A Shelly that has not synced its clock says unixtime 0: the device's clock is used instead.
  CHECK(ww::parse_gen1_status(R"({"mac":"ec:64:c9:c0:5e:97","unixtime":0,"emeters":[{"power":0,"total":1.234}]})", 0,
                              sample) == ww::ShellyError::kOk);
  CHECK_EQ(sample.unixtime, static_cast<uint64_t>(0));
  CHECK_EQ(sample.energy_mwh, static_cast<uint64_t>(1234));
}

TEST(gen2_rpc_answers_bare_and_in_a_json_rpc_frame) {
  uint8_t mac[6];
  CHECK(ww::parse_gen2_device_info(
            R"({"name":null,"id":"shellyproem50-08f9e0e5a1b2","mac":"08F9E0E5A1B2","slot":0,"model":"SPEM-002CEBEU50",)"
            R"("gen":2,"fw_id":"20241011-114455/1.4.4-g6d2a586","ver":"1.4.4","app":"ProEM","auth_en":false})",
            mac) == ww::ShellyError::kOk);
  CHECK_EQ(ww::to_hex(mac, 6), std::string("08f9e0e5a1b2"));
  int64_t power = 0;
  CHECK(ww::parse_gen2_em1_status(
            R"({"id":0,"current":0.118,"voltage":231.7,"act_power":16.6,"aprt_power":27.4,"pf":0.61,"freq":50.0,)"
            R"("calibration":"factory"})",
            power) == ww::ShellyError::kOk);
  CHECK_EQ(power, static_cast<int64_t>(16600));
  CHECK(ww::parse_gen2_em1_status(R"({"id":1,"src":"shellyproem50","result":{"id":0,"act_power":-3.125}})", power) ==
        ww::ShellyError::kOk);
  CHECK_EQ(power, static_cast<int64_t>(-3125));
  CHECK(ww::parse_gen2_em1_status(R"({"id":0,"act_power":1.0,"errors":["out_of_range:current"]})", power) ==
        ww::ShellyError::kInvalidMeasurement);
  uint64_t energy = 0;
  CHECK(ww::parse_gen2_em1data_status(R"({"id":0,"total_act_energy":21700.25,"total_act_ret_energy":0.00})",
                                      energy) == ww::ShellyError::kOk);
  CHECK_EQ(energy, static_cast<uint64_t>(21700250));
  CHECK(ww::parse_gen2_em1data_status(R"({"id":0})", energy) == ww::ShellyError::kMissingField);
  uint64_t unixtime = 1;
  CHECK(ww::parse_gen2_sys_status(R"({"mac":"08F9E0E5A1B2","unixtime":1750352672,"uptime":100})", unixtime) ==
        ww::ShellyError::kOk);
  CHECK_EQ(unixtime, static_cast<uint64_t>(1750352672));
  CHECK(ww::parse_gen2_sys_status(R"({"mac":"08F9E0E5A1B2","unixtime":null})", unixtime) == ww::ShellyError::kOk);
  CHECK_EQ(unixtime, static_cast<uint64_t>(0));
}

namespace {

// The recorded answers the Python agent's tests replay (tests/fixtures/shelly/), so both stacks are
// held to the same payloads.
std::string fixture(const std::string& name) {
  return harness::read_file(harness::vectors_dir() + "/../fixtures/shelly/" + name);
}

}  // namespace

TEST(shared_recorded_fixtures_parse_to_the_values_the_python_agent_expects) {
  ww::MeterSample sample{};
  std::string gen1 = fixture("gen1_em/status.json");
  CHECK(!gen1.empty());
  CHECK(ww::parse_gen1_status(gen1, 0, sample) == ww::ShellyError::kOk);
  CHECK_EQ(sample.power_mw, int64_t(16630));
  CHECK_EQ(sample.energy_mwh, uint64_t(21700000));
  CHECK_EQ(sample.unixtime, uint64_t(1750352672));
  CHECK(ww::parse_gen1_status(gen1, 2, sample) == ww::ShellyError::kNoSuchChannel);

  std::string nopf = fixture("gen1_em_nopf/status.json");
  CHECK(ww::parse_gen1_status(nopf, 1, sample) == ww::ShellyError::kOk);
  CHECK_EQ(ww::to_hex(sample.mac, 6), std::string("ec64c9c05e98"));  // "EC:64:C9:C0:5E:98" in the answer
  CHECK_EQ(sample.power_mw, int64_t(2489350));
  CHECK_EQ(sample.energy_mwh, uint64_t(8765432100));
  CHECK_EQ(sample.unixtime, uint64_t(0));  // not synced: the device clock is used

  uint8_t mac[6];
  CHECK(ww::parse_gen2_device_info(fixture("gen2_proem/rpc_Shelly.GetDeviceInfo.json"), mac) == ww::ShellyError::kOk);
  CHECK_EQ(ww::to_hex(mac, 6), std::string("08f9e0e5d4c8"));
  int64_t power = 0;
  uint64_t energy = 0, unixtime = 0;
  CHECK(ww::parse_gen2_em1_status(fixture("gen2_proem/rpc_EM1.GetStatus_id0.json"), power) == ww::ShellyError::kOk);
  CHECK_EQ(power, int64_t(2431700));
  CHECK(ww::parse_gen2_em1_status(fixture("gen2_proem/rpc_EM1.GetStatus_id1.json"), power) == ww::ShellyError::kOk);
  CHECK_EQ(power, int64_t(-400));
  CHECK(ww::parse_gen2_em1data_status(fixture("gen2_proem/rpc_EM1Data.GetStatus_id0.json"), energy) ==
        ww::ShellyError::kOk);
  CHECK_EQ(energy, uint64_t(1234567890));
  CHECK(ww::parse_gen2_em1data_status(fixture("gen2_proem/rpc_EM1Data.GetStatus_id1.json"), energy) ==
        ww::ShellyError::kOk);
  CHECK_EQ(energy, uint64_t(3500));
  CHECK(ww::parse_gen2_sys_status(fixture("gen2_proem/rpc_Sys.GetStatus.json"), unixtime) == ww::ShellyError::kOk);
  CHECK_EQ(unixtime, uint64_t(1750426640));
  // An RPC error answer ({"code":-105,...}) has no act_power.
  CHECK(ww::parse_gen2_em1_status(fixture("gen2_proem/rpc_EM1.GetStatus_id5.500.json"), power) ==
        ww::ShellyError::kMissingField);
}
