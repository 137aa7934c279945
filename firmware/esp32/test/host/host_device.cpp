// host_device: the firmware's DeviceLoop on a PC, for the end-to-end test. The secure element is the
// OpenSSL-backed FakeEccx08 (key in <state>/slot0.pem, counter 0 in <state>/counter0), flash is files in
// <state>/, HTTP is plain sockets. Everything between meter answer and server request is the ESP32 code.
//
//   host_device --server URL --meter URL --state DIR [--token T] [--gen 1|2] [--channel N]
//               [--interval-ms MS] [--readings N] [--timeout-s S] [--name NAME] [--capacity-w W]
//
// Exits 0 once N readings were signed and every queued record was answered for; 1 on timeout; 2 on bad
// arguments or a device that cannot start.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../wattwitness/src/core/device_loop.h"
#include "fake_eccx08.h"
#include "file_store.h"
#include "posix_http.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

class SystemClock : public ww::Clock {
 public:
  uint64_t unix_seconds() override { return static_cast<uint64_t>(::time(nullptr)); }
  uint64_t millis() override {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
  }
};

class StdoutLog : public ww::LogSink {
 public:
  void line(const std::string& text) override {
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }
};

int usage(const char* message) {
  std::fprintf(stderr,
               "host_device: %s\nusage: host_device --server URL --meter URL --state DIR [--token T] [--gen 1|2]\n"
               "       [--channel N] [--interval-ms MS] [--readings N] [--timeout-s S] [--name NAME] [--capacity-w W]\n",
               message);
  return 2;
}

bool parse_number(const char* text, unsigned long& out) {
  char* end = nullptr;
  out = std::strtoul(text, &end, 10);
  return end && *end == '\0' && end != text;
}

}  // namespace

int main(int argc, char** argv) {
  ww::DeviceConfig config;
  std::string state;
  unsigned long readings = 0, timeout_s = 120;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + flag).c_str());
    const char* value = argv[++i];
    unsigned long number = 0;
    bool numeric = parse_number(value, number);
    if (flag == "--server") config.server_url = value;
    else if (flag == "--meter") config.meter_url = value;
    else if (flag == "--state") state = value;
    else if (flag == "--token") config.enrollment_token = value;
    else if (flag == "--name") config.installation_name = value;
    else if (flag == "--gen" && numeric && (number == 1 || number == 2)) config.meter_generation = static_cast<int>(number);
    else if (flag == "--channel" && numeric) config.channel = static_cast<unsigned>(number);
    else if (flag == "--interval-ms" && numeric && number > 0) config.interval_ms = static_cast<uint32_t>(number);
    else if (flag == "--readings" && numeric) readings = number;
    else if (flag == "--timeout-s" && numeric) timeout_s = number;
    else if (flag == "--capacity-w" && numeric) config.capacity_w = static_cast<uint32_t>(number);
    else return usage(("bad option or value: " + flag + " " + value).c_str());
  }
  ww::Url parsed;
  if (!ww::parse_url(config.server_url, parsed)) return usage("--server must be an http:// URL");
  if (!ww::parse_url(config.meter_url, parsed)) return usage("--meter must be an http:// URL");
  if (state.empty()) return usage("--state DIR is required");
  mkdir(state.c_str(), 0700);

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  ww_host::FakeEccx08 chip;
  if (!chip.load_or_create_pem(state + "/slot0.pem")) return usage("cannot load or create the slot-0 key");
  chip.set_counter_file(state + "/counter0");
  ww::Eccx08SecureElement<ww_host::FakeEccx08> secure_element(chip);
  ww_host::FileFlash flash;
  const uint32_t capacity = ww::kDefaultRingCapacity;
  if (!flash.open(state + "/ring.bin", ww::RecordRing::region_size(capacity))) return usage("cannot open ring.bin");
  ww::RecordRing ring(flash, capacity);
  if (!ring.open()) return usage("cannot format ring.bin");
  ww_host::FileDeviceStore store(state);
  ww_host::PosixHttpClient http;
  SystemClock clock;
  StdoutLog log;
  ww::DeviceLoop device(config, secure_element, http, ring, store, clock, log);
  if (!device.start()) return 2;

  uint64_t deadline = clock.millis() + timeout_s * 1000;
  while (!g_stop) {
    device.tick();
    if (readings > 0 && device.seq() >= readings && device.enrolled() && ring.size() == 0) {
      std::printf("DONE seq=%u rejected=%u\n", device.seq(), device.rejected());
      return 0;
    }
    if (timeout_s > 0 && clock.millis() > deadline) {
      std::printf("TIMEOUT seq=%u queued=%u enrolled=%s\n", device.seq(), ring.size(), device.enrolled() ? "yes" : "no");
      return 1;
    }
    usleep(20000);
  }
  return 0;
}
