// The device loop end to end in memory: a fake network plays the Shelly and a checking server (it
// verifies every signature with OpenSSL and follows the hash chain), the secure element is the
// OpenSSL fake behind the real adapter, flash is MemoryFlash.
#include <cstring>
#include <map>
#include <utility>

#include "../wattwitness/src/core/api.h"
#include "../wattwitness/src/core/bytes.h"
#include "../wattwitness/src/core/device_loop.h"
#include "../wattwitness/src/core/json.h"
#include "harness.h"
#include "host/fake_eccx08.h"
#include "memory_flash.h"

namespace {

const char* kToken = "enroll-token-123";

std::string gen1_body(const std::string& power, const std::string& total, uint64_t unixtime = 1750352672) {
  return R"({"unixtime":)" + std::to_string(unixtime) + R"(,"mac":"EC64C9C05E97","emeters":[{"power":)" + power +
         R"(,"reactive":-30.49,"pf":0.48,"voltage":229.55,"is_valid":true,"total":)" + total +
         R"(,"total_returned":0.0}]})";
}

class FakeNetwork : public ww::HttpClient {
 public:
  // ---- meter side ----
  std::string meter_body = gen1_body("16.63", "21700.0");
  bool meter_down = false;
  std::map<std::string, std::string> rpc;  // Gen2: path -> body
  // ---- server side ----
  bool server_down = false;
  std::map<std::pair<uint32_t, uint32_t>, std::string> forced;  // (boot, seq) -> outcome to answer
  bool enrolled = false;
  uint8_t key[64] = {0};
  std::vector<ww::Reading> stored;  // in arrival order
  std::vector<std::string> outcomes_sent;
  std::map<std::pair<uint32_t, uint32_t>, std::string> hash_of;
  int batch_calls = 0;
  int enroll_calls = 0;
  long last_outbox_depth = -2;

  ww::HttpResponse get(const std::string& url) override {
    if (meter_down) return {-4, ""};
    size_t path_at = url.find('/', url.find("//") + 2);
    std::string path = url.substr(path_at);
    if (path == "/status") return {200, meter_body};
    auto found = rpc.find(path);
    if (found != rpc.end()) return {200, found->second};
    return {404, R"({"code":404,"message":"No handler"})"};
  }

  ww::HttpResponse post_json(const std::string& url, const std::string& body, const std::string& bearer,
                             long outbox_depth) override {
    if (server_down) return {-4, ""};
    if (url == "https://server.test/api/v1/installations/") return enroll(body, bearer);
    if (url == "https://server.test/api/v1/readings/batch") {
      last_outbox_depth = outbox_depth;
      return batch(body);
    }
    return {404, R"({"error":"not_found","detail":"no route"})"};
  }

 private:
  static std::string field(const ww::JsonValue& object, const char* name) {
    ww::JsonValue value;
    std::string text;
    if (object.member(name, value)) value.string(text);
    return text;
  }

  ww::HttpResponse enroll(const std::string& body, const std::string& bearer) {
    ++enroll_calls;
    if (bearer != kToken) return {401, R"({"error":"unauthorized","detail":"unknown enrollment token"})"};
    ww::JsonValue root;
    uint8_t public_key[64], record[ww::kEnrollmentLen], signature[64], digest[32];
    if (!ww::JsonValue::parse(body, root) || !ww::from_hex(field(root, "public_key"), public_key, 64) ||
        !ww::from_hex(field(root, "enrollment_record"), record, sizeof record) ||
        !ww::from_hex(field(root, "enrollment_signature"), signature, 64)) {
      return {422, R"({"error":"malformed","detail":"bad body"})"};
    }
    ww::sha256(record, sizeof record, digest);
    if (std::memcmp(record + 18, public_key, 64) != 0 || !ww_host::openssl_verify(public_key, digest, signature)) {
      return {400, R"({"error":"invalid_signature","detail":"enrollment"})"};
    }
    std::memcpy(key, public_key, 64);
    enrolled = true;
    return {201, R"({"id":1})"};
  }

  ww::HttpResponse batch(const std::string& body) {
    ++batch_calls;
    ww::JsonValue root, readings, item;
    if (!ww::JsonValue::parse(body, root) || !root.member("readings", readings)) return {422, "{}"};
    std::string results;
    for (size_t i = 0; readings.at(i, item); ++i) {
      uint8_t record[ww::kReadingLen], signature[64], digest[32];
      ww::Reading reading;
      std::string outcome;
      if (!ww::from_hex(field(item, "record"), record, sizeof record) ||
          !ww::from_hex(field(item, "signature"), signature, 64) ||
          !ww::decode_reading(record, sizeof record, reading)) {
        outcome = "malformed";
      } else {
        ww::sha256(record, sizeof record, digest);
        auto id = std::make_pair(reading.boot, reading.seq);
        std::string prev = ww::to_hex(reading.prev, 32);
        if (forced.count(id)) {
          outcome = forced[id];
        } else if (!enrolled) {
          outcome = "unknown_meter";
        } else if (!ww_host::openssl_verify(key, digest, signature)) {
          outcome = "invalid_signature";
        } else if (hash_of.count(id)) {
          outcome = hash_of[id] == ww::to_hex(digest, 32) ? "duplicate" : "equivocation";
        } else {
          // Linked to the newest stored record, or the very first record with a zero prev: verified.
          bool linked = stored.empty() ? prev == std::string(64, '0')
                                       : prev == hash_of[std::make_pair(stored.back().boot, stored.back().seq)];
          outcome = linked ? "verified" : "gap";
          stored.push_back(reading);
          hash_of[id] = ww::to_hex(digest, 32);
        }
      }
      outcomes_sent.push_back(outcome);
      if (i) results += ",";
      results += R"({"index":)" + std::to_string(i) + R"(,"outcome":")" + outcome + R"(","detail":"","reading_id":1})";
    }
    return {200, R"({"results":[)" + results + R"(],"stored":0,"duplicates":0,"rejected":0})"};
  }
};

class FakeClock : public ww::Clock {
 public:
  uint64_t unix_now = 1750352700;
  uint64_t millis_now = 1000;
  uint64_t unix_seconds() override { return unix_now; }
  uint64_t millis() override { return millis_now; }
};

class CaptureLog : public ww::LogSink {
 public:
  std::vector<std::string> lines;
  void line(const std::string& text) override { lines.push_back(text); }
  bool has(const std::string& prefix) const {
    for (const std::string& l : lines) {
      if (l.compare(0, prefix.size(), prefix) == 0) return true;
    }
    return false;
  }
};

class MemoryStore : public ww::DeviceStore {
 public:
  bool has_head = false;
  uint8_t blob[ww::kChainHeadBlobLen] = {0};
  bool is_enrolled = false;
  bool load_head(ww::ChainHead& head) override { return has_head && ww::decode_chain_head(blob, sizeof blob, head); }
  bool save_head(const ww::ChainHead& head) override {
    ww::encode_chain_head(head, blob);
    has_head = true;
    return true;
  }
  bool enrolled() override { return is_enrolled; }
  bool set_enrolled() override { return is_enrolled = true; }
};

// Everything that survives a reboot (chip, flash, preferences) plus the outside world.
struct Rig {
  ww_host::FakeEccx08 chip;
  MemoryFlash flash{ww::RecordRing::region_size(64)};
  MemoryStore store;
  FakeNetwork network;
  FakeClock clock;
  ww::DeviceConfig config;

  Rig() {
    uint8_t scalar[32] = {0};
    scalar[31] = 0x2a;
    chip.load_scalar(scalar);
    config.server_url = "https://server.test/";
    config.meter_url = "http://meter.test";
    config.enrollment_token = kToken;
    config.capacity_w = 5000;
  }
};

// One boot of the device on the rig.
struct Device {
  ww::Eccx08SecureElement<ww_host::FakeEccx08> element;
  ww::RecordRing ring;
  CaptureLog log;
  ww::DeviceLoop loop;

  explicit Device(Rig& rig)
      : element(rig.chip), ring(rig.flash, 64),
        loop(rig.config, element, rig.network, ring, rig.store, rig.clock, log) {
    ring.open();
  }

  // Advances the clock one reading interval and ticks.
  void step(Rig& rig) {
    rig.clock.millis_now += rig.config.interval_ms;
    rig.clock.unix_now += rig.config.interval_ms / 1000;
    loop.tick();
  }
};

}  // namespace

TEST(first_boot_restarts_the_chain_enrolls_and_delivers_a_verified_record) {
  Rig rig;
  Device device(rig);
  CHECK(device.loop.start());
  CHECK_EQ(device.loop.boot_epoch(), uint32_t(1));
  CHECK(device.log.has("BOOT epoch=1 key="));
  CHECK(device.log.has("CHAIN restart"));
  device.loop.tick();
  CHECK(rig.network.enrolled);
  CHECK(device.loop.enrolled());
  CHECK(rig.store.is_enrolled);
  CHECK_EQ(rig.network.stored.size(), size_t(1));
  CHECK_EQ(rig.network.outcomes_sent.at(0), std::string("verified"));
  const ww::Reading& first = rig.network.stored.at(0);
  CHECK_EQ(first.boot, uint32_t(1));
  CHECK_EQ(first.seq, uint32_t(1));
  CHECK_EQ(first.ts, uint64_t(1750352672));  // the meter's clock
  CHECK_EQ(first.power_mw, int64_t(16630));
  CHECK_EQ(first.energy_mwh, uint64_t(21700000));
  CHECK_EQ(ww::to_hex(first.meter, 6), std::string("ec64c9c05e97"));
  CHECK_EQ(device.ring.size(), uint32_t(0));
  CHECK(device.log.has("RECORD boot=1 seq=1 ts=1750352672 power_mw=16630 energy_mwh=21700000"));
  CHECK(device.log.has("ENROLL ok status=201"));
  CHECK(device.log.has("SEND ok sent=1 acked=1 rejected=0 queued=0"));
}

TEST(records_chain_within_a_boot_and_across_reboots) {
  Rig rig;
  {
    Device device(rig);
    CHECK(device.loop.start());
    for (int i = 0; i < 3; ++i) {
      rig.network.meter_body = gen1_body("16.6" + std::to_string(i), "2170" + std::to_string(i) + ".5",
                                         1750352672 + 10 * i);
      device.step(rig);
    }
    CHECK_EQ(device.loop.seq(), uint32_t(3));
  }
  {
    Device device(rig);  // reboot: monotonic counter 0 gives epoch 2, the chain head comes from the store
    CHECK(device.loop.start());
    CHECK_EQ(device.loop.boot_epoch(), uint32_t(2));
    CHECK(device.log.has("BOOT epoch=2 key="));
    CHECK(!device.log.has("CHAIN restart"));
    device.step(rig);
    device.step(rig);
  }
  CHECK_EQ(rig.network.stored.size(), size_t(5));
  for (const std::string& outcome : rig.network.outcomes_sent) CHECK_EQ(outcome, std::string("verified"));
  CHECK_EQ(rig.network.stored.at(3).boot, uint32_t(2));
  CHECK_EQ(rig.network.stored.at(3).seq, uint32_t(1));
  CHECK_EQ(rig.network.stored.at(2).energy_mwh, uint64_t(21702500));
  CHECK_EQ(rig.network.enroll_calls, 1);  // enrolled once, remembered across the reboot
}

TEST(lost_chain_head_gives_a_visible_restart_with_zero_prev) {
  Rig rig;
  {
    Device device(rig);
    CHECK(device.loop.start());
    device.step(rig);
  }
  rig.store.has_head = false;  // preferences erased
  Device device(rig);
  CHECK(device.loop.start());
  CHECK(device.log.has("CHAIN restart"));
  device.step(rig);
  CHECK_EQ(rig.network.stored.size(), size_t(2));
  const ww::Reading& restarted = rig.network.stored.at(1);
  CHECK_EQ(restarted.boot, uint32_t(2));
  CHECK_EQ(ww::to_hex(restarted.prev, 32), std::string(64, '0'));
}

TEST(server_outage_queues_records_on_flash_and_delivers_them_in_order_later) {
  Rig rig;
  rig.network.server_down = true;
  rig.store.is_enrolled = true;
  rig.network.enrolled = true;
  {
    Device device(rig);
    CHECK(device.loop.start());
    uint8_t public_key[64];
    CHECK(device.element.public_key(public_key));
    std::memcpy(rig.network.key, public_key, 64);
    for (int i = 0; i < 5; ++i) device.step(rig);
    CHECK_EQ(device.ring.size(), uint32_t(5));
    CHECK(device.log.has("SEND fail server unreachable queued="));
  }
  // Power cut: reboot with the queue still on flash, then the server comes back.
  rig.network.server_down = false;
  Device device(rig);
  CHECK(device.loop.start());
  CHECK(device.log.has("BOOT epoch=2"));
  for (int i = 0; i < 40 && (device.ring.size() > 0 || device.loop.seq() == 0); ++i) device.step(rig);
  CHECK_EQ(device.ring.size(), uint32_t(0));
  CHECK(rig.network.stored.size() >= 6);
  for (size_t i = 0; i < 5 && i < rig.network.stored.size(); ++i) {
    CHECK_EQ(rig.network.stored[i].boot, uint32_t(1));
    CHECK_EQ(rig.network.stored[i].seq, uint32_t(i + 1));
  }
  for (const std::string& outcome : rig.network.outcomes_sent) CHECK_EQ(outcome, std::string("verified"));
  CHECK(rig.network.last_outbox_depth >= 0);
}

TEST(head_lost_in_a_power_cut_is_recovered_from_the_newest_queued_record) {
  Rig rig;
  rig.network.server_down = true;
  {
    Device device(rig);
    CHECK(device.loop.start());
    device.step(rig);
    device.step(rig);
  }
  // The head saved before the last record was queued: simulate by storing the head of seq 1.
  ww::ChainHead stale;
  {
    ww::RecordRing ring(rig.flash, 64);
    CHECK(ring.open());
    ww::SignedRecord first;
    CHECK(ring.peek(0, first));
    stale.present = true;
    stale.boot = 1;
    stale.seq = 1;
    ww::record_hash(first.record, ww::kReadingLen, stale.hash);
    rig.store.save_head(stale);
  }
  rig.network.server_down = false;
  Device device(rig);
  CHECK(device.loop.start());
  CHECK(device.log.has("RECOVER chain head boot=1 seq=2"));
  CHECK_EQ(device.loop.head().seq, uint32_t(2));
  for (int i = 0; i < 5; ++i) device.step(rig);
  CHECK(rig.network.stored.size() >= 3);
  for (const std::string& outcome : rig.network.outcomes_sent) CHECK_EQ(outcome, std::string("verified"));
}

TEST(only_answered_records_leave_the_ring_retry_outcomes_hold_the_queue) {
  Rig rig;
  rig.network.server_down = true;
  Device device(rig);
  CHECK(device.loop.start());
  device.step(rig);  // reads seq 1; enrollment fails (server down)
  rig.network.server_down = false;
  rig.network.forced[std::make_pair(1u, 2u)] = "future_timestamp";
  rig.network.forced[std::make_pair(1u, 1u)] = "chain_break";
  device.step(rig);  // reads seq 2
  device.step(rig);  // enrolls (after back-off) and sends 1..n
  for (int i = 0; i < 3; ++i) device.step(rig);
  CHECK(device.loop.enrolled());
  CHECK(device.log.has("REJECT boot=1 seq=1 outcome=chain_break"));
  CHECK(device.log.has("HOLD boot=1 seq=2 outcome=future_timestamp"));
  CHECK_EQ(device.loop.rejected(), uint32_t(1));
  // seq 2 is still the oldest queued record: nothing behind it was deleted.
  ww::SignedRecord oldest;
  ww::Reading reading;
  CHECK(device.ring.peek(0, oldest) && ww::decode_reading(oldest.record, ww::kReadingLen, reading));
  CHECK_EQ(reading.seq, uint32_t(2));
  uint32_t queued = device.ring.size();
  CHECK(queued >= 2);
  rig.network.forced.clear();  // the server's clock caught up
  for (int i = 0; i < 40 && device.ring.size() > 0; ++i) device.step(rig);
  CHECK_EQ(device.ring.size(), uint32_t(0));
}

TEST(enrollment_refused_keeps_records_queued_and_sends_nothing) {
  Rig rig;
  rig.config.enrollment_token = "wrong";
  Device device(rig);
  CHECK(device.loop.start());
  for (int i = 0; i < 3; ++i) device.step(rig);
  CHECK(!device.loop.enrolled());
  CHECK(device.log.has("ENROLL fail status=401 error=unauthorized detail=unknown enrollment token"));
  CHECK_EQ(rig.network.batch_calls, 0);
  CHECK_EQ(device.ring.size(), uint32_t(3));
}

TEST(meter_failures_and_an_unset_clock_sign_nothing) {
  Rig rig;
  Device device(rig);
  CHECK(device.loop.start());
  rig.network.meter_down = true;
  CHECK(!device.loop.read_and_sign());
  CHECK(device.log.has("METER fail meter unreachable (/status)"));
  rig.network.meter_down = false;
  rig.network.meter_body = R"({"mac":"EC64C9C05E97","emeters":[{"power":1,"total":2,"is_valid":false}]})";
  CHECK(!device.loop.read_and_sign());
  CHECK(device.log.has("METER fail /status: the meter marks the measurement invalid"));
  rig.network.meter_body = gen1_body("1", "2", 0);
  rig.clock.unix_now = 0;
  CHECK(!device.loop.read_and_sign());
  CHECK(device.log.has("WAIT clock not set"));
  CHECK_EQ(device.loop.seq(), uint32_t(0));
  CHECK_EQ(device.ring.size(), uint32_t(0));
  // With only the device's clock set, its time is used.
  rig.clock.unix_now = 1750400000;
  CHECK(device.loop.read_and_sign());
  ww::SignedRecord entry;
  ww::Reading reading;
  CHECK(device.ring.peek(0, entry) && ww::decode_reading(entry.record, ww::kReadingLen, reading));
  CHECK_EQ(reading.ts, uint64_t(1750400000));
  // A different meter answering on the same address is refused within a boot.
  rig.network.meter_body = R"({"mac":"AABBCCDDEEFF","unixtime":1750400010,"emeters":[{"power":1,"total":2}]})";
  CHECK(!device.loop.read_and_sign());
  CHECK(device.log.has("METER fail mac aabbccddeeff"));
}

TEST(gen2_meter_is_read_through_rpc) {
  Rig rig;
  rig.config.meter_generation = 2;
  rig.config.channel = 0;
  rig.network.rpc["/rpc/Shelly.GetDeviceInfo"] = R"({"id":"shellyproem50-08f9e0e5a1b2","mac":"08F9E0E5A1B2","gen":2})";
  rig.network.rpc["/rpc/EM1.GetStatus?id=0"] = R"({"id":0,"act_power":1523.11,"voltage":231.1})";
  rig.network.rpc["/rpc/EM1Data.GetStatus?id=0"] = R"({"id":0,"total_act_energy":12.987})";
  rig.network.rpc["/rpc/Sys.GetStatus"] = R"({"mac":"08F9E0E5A1B2","unixtime":1750346400})";
  Device device(rig);
  CHECK(device.loop.start());
  device.loop.tick();
  CHECK_EQ(rig.network.stored.size(), size_t(1));
  const ww::Reading& reading = rig.network.stored.at(0);
  CHECK_EQ(reading.power_mw, int64_t(1523110));
  CHECK_EQ(reading.energy_mwh, uint64_t(12987));
  CHECK_EQ(reading.ts, uint64_t(1750346400));
  CHECK_EQ(ww::to_hex(reading.meter, 6), std::string("08f9e0e5a1b2"));
}

TEST(a_chip_that_is_not_locked_signs_nothing) {
  Rig rig;
  rig.chip.set_locked(false);
  Device device(rig);
  CHECK(!device.loop.start());
  CHECK(device.log.has("ERROR secure element not answering or not locked"));
  device.loop.tick();
  CHECK_EQ(device.ring.size(), uint32_t(0));
}

TEST(a_server_that_forgot_the_installation_gets_a_new_enrollment) {
  Rig rig;
  Device device(rig);
  CHECK(device.loop.start());
  device.step(rig);
  CHECK_EQ(rig.network.stored.size(), size_t(1));
  rig.network.enrolled = false;  // the server's database was rebuilt
  device.step(rig);
  CHECK(device.log.has("HOLD boot=1 seq=2 outcome=unknown_meter"));
  CHECK(device.log.has("ENROLL needed"));
  for (int i = 0; i < 10 && (device.ring.size() > 0 || !device.loop.enrolled()); ++i) device.step(rig);
  CHECK(rig.network.enrolled);
  CHECK_EQ(rig.network.enroll_calls, 2);
  CHECK_EQ(device.ring.size(), uint32_t(0));
  CHECK(rig.network.stored.size() >= 3);
  CHECK_EQ(rig.network.stored.at(1).seq, uint32_t(2));
}
