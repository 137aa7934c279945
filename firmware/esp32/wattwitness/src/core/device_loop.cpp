// DeviceLoop: boot, read-sign-queue, enroll, send. Each serial log line it prints is explained in
// firmware/esp32/README.md ("Serial log").
#include "device_loop.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include "api.h"
#include "bytes.h"

namespace ww {

DeviceLoop::DeviceLoop(const DeviceConfig& config, SecureElement& secure_element, HttpClient& http,
                       RecordRing& ring, DeviceStore& store, Clock& clock, LogSink& log)
    : config_(config), secure_element_(secure_element), http_(http), ring_(ring), store_(store), clock_(clock),
      log_(log), meter_(http, config.meter_url, config.meter_generation, config.channel), public_key_{},
      boot_(0), seq_(0), head_{}, started_(false), enrolled_(false), have_mac_(false), mac_{}, rejected_(0),
      next_read_ms_(0), next_send_ms_(0), next_enroll_ms_(0), send_backoff_ms_(0), enroll_backoff_ms_(0) {
  while (!config_.server_url.empty() && config_.server_url.back() == '/') config_.server_url.pop_back();
}

void DeviceLoop::log(const char* format, ...) {
  char buffer[320];
  va_list args;
  va_start(args, format);
  vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  log_.line(buffer);
}

// A power cut between queueing a record and saving the head leaves the ring one record ahead of the
// stored head; the record in the ring is the real last one signed, so the chain continues from it.
void DeviceLoop::recover_head_from_ring() {
  SignedRecord newest;
  Reading reading;
  if (!ring_.newest(newest) || !decode_reading(newest.record, kReadingLen, reading)) return;
  bool newer = !head_.present || reading.boot > head_.boot || (reading.boot == head_.boot && reading.seq > head_.seq);
  if (!newer) return;
  head_.present = true;
  head_.boot = reading.boot;
  head_.seq = reading.seq;
  record_hash(newest.record, kReadingLen, head_.hash);
  log("RECOVER chain head boot=%" PRIu32 " seq=%" PRIu32 " taken from the newest queued record", head_.boot,
      head_.seq);
  if (!store_.save_head(head_)) log("ERROR could not save the chain head");
}

bool DeviceLoop::start() {
  if (!secure_element_.begin()) {
    log("ERROR secure element not answering or not locked: nothing will be signed");
    return false;
  }
  if (!secure_element_.public_key(public_key_)) {
    log("ERROR secure element has no key in slot 0: nothing will be signed");
    return false;
  }
  key_id_ = key_id(public_key_);
  if (!secure_element_.next_boot_epoch(boot_)) {
    log("ERROR monotonic counter 0 could not be incremented: nothing will be signed");
    return false;
  }
  seq_ = 0;
  head_ = ChainHead{};
  if (!store_.load_head(head_)) head_.present = false;
  recover_head_from_ring();
  enrolled_ = store_.enrolled();
  if (head_.present) {
    log("BOOT epoch=%" PRIu32 " key=%s head=%" PRIu32 "/%" PRIu32 " queued=%" PRIu32 " enrolled=%s", boot_,
        key_id_.c_str(), head_.boot, head_.seq, ring_.size(), enrolled_ ? "yes" : "no");
    if (head_.boot >= boot_) {
      log("WARN stored head boot %" PRIu32 " is not below this boot epoch %" PRIu32, head_.boot, boot_);
    }
  } else {
    log("BOOT epoch=%" PRIu32 " key=%s head=none queued=%" PRIu32 " enrolled=%s", boot_, key_id_.c_str(),
        ring_.size(), enrolled_ ? "yes" : "no");
    log("CHAIN restart: no stored chain head, the next record has prev = 32 zero bytes");
  }
  started_ = true;
  uint64_t now = clock_.millis();
  next_read_ms_ = now;
  next_send_ms_ = now;
  next_enroll_ms_ = now;
  send_backoff_ms_ = config_.interval_ms;
  enroll_backoff_ms_ = config_.interval_ms;
  return true;
}

bool DeviceLoop::read_and_sign() {
  if (!started_) return false;
  MeterSample sample;
  std::string error;
  if (!meter_.read(sample, error)) {
    log("METER fail %s", error.c_str());
    return false;
  }
  if (have_mac_ && std::memcmp(sample.mac, mac_, kMacLen) != 0) {
    log("METER fail mac %s is not the meter this boot started with (%s): not signed",
        to_hex(sample.mac, kMacLen).c_str(), to_hex(mac_, kMacLen).c_str());
    return false;
  }
  uint64_t ts = sample.unixtime ? sample.unixtime : clock_.unix_seconds();
  if (ts < kEarliestPlausibleTs) {
    log("WAIT clock not set (meter and device): reading not signed");
    return false;
  }
  std::memcpy(mac_, sample.mac, kMacLen);
  have_mac_ = true;

  Reading reading;
  std::memcpy(reading.meter, sample.mac, kMacLen);
  reading.boot = boot_;
  reading.seq = seq_ + 1;
  reading.ts = ts;
  reading.power_mw = sample.power_mw;
  reading.energy_mwh = sample.energy_mwh;
  if (head_.present) {
    std::memcpy(reading.prev, head_.hash, kSha256Len);
  } else {
    std::memset(reading.prev, 0, kSha256Len);
  }
  SignedRecord entry;
  uint8_t digest[kSha256Len];
  encode_reading(reading, entry.record);
  record_hash(entry.record, kReadingLen, digest);
  if (!secure_element_.sign_digest(digest, entry.signature)) {
    log("ERROR signing failed: reading dropped");
    return false;
  }
  // From here the record exists: the next one links to it even if flash fails (the server then sees a gap).
  seq_ = reading.seq;
  head_.present = true;
  head_.boot = boot_;
  head_.seq = seq_;
  std::memcpy(head_.hash, digest, kSha256Len);
  uint32_t dropped_before = ring_.dropped();
  bool queued = ring_.push(entry);
  if (!store_.save_head(head_)) log("ERROR could not save the chain head");
  if (!queued) {
    log("ERROR flash write failed: record boot=%" PRIu32 " seq=%" PRIu32 " lost", boot_, seq_);
    return false;
  }
  if (ring_.dropped() != dropped_before) {
    log("RING full: oldest unsent record overwritten (dropped=%" PRIu32 ")", ring_.dropped());
  }
  log("RECORD boot=%" PRIu32 " seq=%" PRIu32 " ts=%" PRIu64 " power_mw=%" PRId64 " energy_mwh=%" PRIu64
      " hash=%s queued=%" PRIu32,
      boot_, seq_, reading.ts, reading.power_mw, reading.energy_mwh, to_hex(digest, 8).c_str(), ring_.size());
  return true;
}

bool DeviceLoop::enroll() {
  if (!started_ || !have_mac_) return false;
  if (config_.enrollment_token.empty()) {
    log("ENROLL fail no enrollment token provisioned");
    return false;
  }
  EnrollmentRequest request;
  request.name = config_.installation_name;
  request.timezone = config_.timezone;
  request.capacity_w = config_.capacity_w;
  std::memcpy(request.public_key, public_key_, kPublicKeyLen);
  uint64_t ts = clock_.unix_seconds();
  if (ts < kEarliestPlausibleTs) {
    log("WAIT clock not set: enrollment postponed");
    return false;
  }
  encode_enrollment(mac_, ts, public_key_, request.record);
  uint8_t digest[kSha256Len];
  record_hash(request.record, kEnrollmentLen, digest);
  if (!secure_element_.sign_digest(digest, request.signature)) {
    log("ERROR signing the enrollment record failed");
    return false;
  }
  HttpResponse response = http_.post_json(config_.server_url + kInstallationsPath, build_enrollment_body(request),
                                          config_.enrollment_token, -1);
  if (response.status == 200 || response.status == 201) {
    if (!store_.set_enrolled()) log("ERROR could not save the enrollment flag");
    enrolled_ = true;
    log("ENROLL ok status=%d key=%s meter=%s", response.status, key_id_.c_str(), to_hex(mac_, kMacLen).c_str());
    return true;
  }
  std::string error, detail;
  if (response.status < 0) {
    log("ENROLL fail server unreachable");
  } else if (parse_error_body(response.body, error, detail)) {
    log("ENROLL fail status=%d error=%s detail=%s", response.status, error.c_str(), detail.c_str());
  } else {
    log("ENROLL fail status=%d", response.status);
  }
  return false;
}

bool DeviceLoop::send_batch() {
  if (ring_.size() == 0) return true;
  uint32_t want = ring_.size() < config_.batch_max ? ring_.size() : config_.batch_max;
  std::vector<SignedRecord> entries;
  entries.reserve(want);
  for (uint32_t i = 0; i < want; ++i) {
    SignedRecord entry;
    if (!ring_.peek(i, entry)) break;
    entries.push_back(entry);
  }
  if (entries.empty()) {
    // The oldest slot fails its checksum (torn by a power cut): it cannot be sent, and keeping it would
    // block everything behind it.
    ring_.pop(1);
    log("RING corrupt slot dropped queued=%" PRIu32, ring_.size());
    return true;
  }
  HttpResponse response =
      http_.post_json(config_.server_url + kBatchPath, build_batch_body(entries), std::string(), ring_.size());
  std::string error, detail;
  if (response.status < 0) {
    log("SEND fail server unreachable queued=%" PRIu32, ring_.size());
    return false;
  }
  if (response.status != 200) {
    if (parse_error_body(response.body, error, detail)) {
      log("SEND fail status=%d error=%s detail=%s queued=%" PRIu32, response.status, error.c_str(),
          detail.c_str(), ring_.size());
    } else {
      log("SEND fail status=%d queued=%" PRIu32, response.status, ring_.size());
    }
    return false;
  }
  std::vector<std::string> outcomes;
  if (!parse_batch_response(response.body, entries.size(), outcomes)) {
    log("SEND fail unreadable answer queued=%" PRIu32, ring_.size());
    return false;
  }
  uint32_t done = 0, acknowledged = 0, rejected = 0;
  bool held = false;
  for (size_t i = 0; i < outcomes.size() && !held; ++i) {
    Reading reading;
    decode_reading(entries[i].record, kReadingLen, reading);
    switch (disposition_of(outcomes[i])) {
      case Disposition::kAcknowledged:
        ++acknowledged;
        ++done;
        break;
      case Disposition::kRejected:
        ++rejected;
        ++done;
        log("REJECT boot=%" PRIu32 " seq=%" PRIu32 " outcome=%s", reading.boot, reading.seq, outcomes[i].c_str());
        break;
      case Disposition::kRetry:
        held = true;
        log("HOLD boot=%" PRIu32 " seq=%" PRIu32 " outcome=%s: kept for a later retry", reading.boot, reading.seq,
            outcomes[i].c_str());
        if (outcomes[i] == "unknown_meter") {
          // The server has no installation for this meter (e.g. its database was rebuilt): enroll again.
          enrolled_ = false;
          next_enroll_ms_ = clock_.millis();
          log("ENROLL needed: the server does not know this meter");
        }
        break;
    }
  }
  if (!ring_.pop(done)) {
    log("ERROR flash write failed while deleting acknowledged records");
    return false;
  }
  rejected_ += rejected;
  log("SEND ok sent=%u acked=%" PRIu32 " rejected=%" PRIu32 " queued=%" PRIu32, static_cast<unsigned>(entries.size()),
      acknowledged, rejected, ring_.size());
  return !held;
}

void DeviceLoop::tick() {
  if (!started_) return;
  uint64_t now = clock_.millis();
  if (now >= next_read_ms_) {
    // Keep a steady 10 s cadence; after a long stall, restart it from now instead of catching up.
    next_read_ms_ += config_.interval_ms;
    if (next_read_ms_ <= now) next_read_ms_ = now + config_.interval_ms;
    read_and_sign();
  }
  if (!enrolled_) {
    if (!have_mac_ || now < next_enroll_ms_) return;
    if (!enroll()) {
      enroll_backoff_ms_ = enroll_backoff_ms_ * 2 > config_.retry_max_ms ? config_.retry_max_ms : enroll_backoff_ms_ * 2;
      next_enroll_ms_ = now + enroll_backoff_ms_;
      return;
    }
  }
  if (ring_.size() > 0 && now >= next_send_ms_) {
    if (send_batch()) {
      send_backoff_ms_ = config_.interval_ms;
      next_send_ms_ = now;  // more queued records go out on the next tick
    } else {
      send_backoff_ms_ = send_backoff_ms_ * 2 > config_.retry_max_ms ? config_.retry_max_ms : send_backoff_ms_ * 2;
      next_send_ms_ = now + send_backoff_ms_;
    }
  }
}

}  // namespace ww
