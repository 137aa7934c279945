// File-backed flash region and device store for the host build.
#include "file_store.h"

#include <unistd.h>

#include <vector>

namespace ww_host {

FileFlash::~FileFlash() {
  if (file_) std::fclose(file_);
}

bool FileFlash::open(const std::string& path, uint32_t size) {
  file_ = std::fopen(path.c_str(), "r+b");
  if (!file_) {
    file_ = std::fopen(path.c_str(), "w+b");
    if (!file_) return false;
    // Erased flash: the ring finds no valid header and formats itself.
    std::vector<uint8_t> zeros(size, 0);
    if (std::fwrite(zeros.data(), 1, zeros.size(), file_) != zeros.size()) return false;
  }
  return std::fflush(file_) == 0;
}

bool FileFlash::read(uint32_t offset, uint8_t* data, size_t length) {
  return file_ && std::fseek(file_, offset, SEEK_SET) == 0 && std::fread(data, 1, length, file_) == length;
}

bool FileFlash::write(uint32_t offset, const uint8_t* data, size_t length) {
  return file_ && std::fseek(file_, offset, SEEK_SET) == 0 && std::fwrite(data, 1, length, file_) == length;
}

bool FileFlash::sync() { return file_ && std::fflush(file_) == 0 && fsync(fileno(file_)) == 0; }

bool FileDeviceStore::load_head(ww::ChainHead& head) {
  std::FILE* file = std::fopen((directory_ + "/chain_head.bin").c_str(), "rb");
  if (!file) return false;
  uint8_t blob[ww::kChainHeadBlobLen + 1];
  size_t n = std::fread(blob, 1, sizeof blob, file);
  std::fclose(file);
  return ww::decode_chain_head(blob, n, head);
}

bool FileDeviceStore::save_head(const ww::ChainHead& head) {
  // Write a temporary file and rename it over the old one: the stored head is always whole.
  std::string path = directory_ + "/chain_head.bin";
  std::string temporary = path + ".tmp";
  uint8_t blob[ww::kChainHeadBlobLen];
  ww::encode_chain_head(head, blob);
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) return false;
  bool ok = std::fwrite(blob, 1, sizeof blob, file) == sizeof blob && std::fflush(file) == 0 && fsync(fileno(file)) == 0;
  ok = std::fclose(file) == 0 && ok;
  return ok && std::rename(temporary.c_str(), path.c_str()) == 0;
}

bool FileDeviceStore::enrolled() { return access((directory_ + "/enrolled").c_str(), F_OK) == 0; }

bool FileDeviceStore::set_enrolled() {
  std::FILE* file = std::fopen((directory_ + "/enrolled").c_str(), "w");
  return file && std::fclose(file) == 0;
}

}  // namespace ww_host
