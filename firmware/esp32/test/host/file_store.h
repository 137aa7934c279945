// Host stand-ins for the ESP32's flash: the record ring in one file (LittleFS file on the device) and
// the chain head / enrollment flag as files in a state directory (Preferences on the device).
#pragma once

#include <cstdio>
#include <string>

#include "../../wattwitness/src/core/storage.h"

namespace ww_host {

class FileFlash : public ww::FlashRegion {
 public:
  FileFlash() : file_(nullptr) {}
  ~FileFlash() override;
  // Opens (creating and zero-filling to `size` bytes when absent).
  bool open(const std::string& path, uint32_t size);
  bool read(uint32_t offset, uint8_t* data, size_t length) override;
  bool write(uint32_t offset, const uint8_t* data, size_t length) override;
  bool sync() override;

 private:
  std::FILE* file_;
};

class FileDeviceStore : public ww::DeviceStore {
 public:
  explicit FileDeviceStore(const std::string& directory) : directory_(directory) {}
  bool load_head(ww::ChainHead& head) override;
  bool save_head(const ww::ChainHead& head) override;
  bool enrolled() override;
  bool set_enrolled() override;

 private:
  std::string directory_;
};

}  // namespace ww_host
