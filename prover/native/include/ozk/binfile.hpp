// Read-only mmap of iden3 binary files (.zkey, .wtns, .r1cs): magic, version, section table; no copies of section data.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

namespace ozk {

struct Error : std::runtime_error {
  explicit Error(const std::string& m) : std::runtime_error(m) {}
};

struct Section {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

class BinFile {
 public:
  BinFile(const std::string& path, const char magic[4], uint32_t max_version) : path_(path) {
    fd_ = open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw Error("cannot open " + path + ": " + strerror(errno));
    struct stat st;
    if (fstat(fd_, &st) != 0) throw Error("cannot stat " + path);
    size_ = (size_t)st.st_size;
    if (size_ < 12) throw Error(path + ": file too short for a " + std::string(magic, 4) + " header");
    void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED) throw Error("cannot mmap " + path + ": " + strerror(errno));
    base_ = (const uint8_t*)m;
    if (memcmp(base_, magic, 4) != 0) throw Error(path + ": not a ." + std::string(magic, 4) + " file (bad magic)");
    version_ = u32(4);
    if (version_ == 0 || version_ > max_version)
      throw Error(path + ": unsupported ." + std::string(magic, 4) + " version " + std::to_string(version_));
    uint32_t nsec = u32(8);
    size_t pos = 12;
    for (uint32_t i = 0; i < nsec; i++) {
      if (pos + 12 > size_) throw Error(path + ": truncated section table");
      uint32_t type = u32(pos);
      uint64_t len;
      memcpy(&len, base_ + pos + 4, 8);
      pos += 12;
      if (len > size_ - pos) throw Error(path + ": section " + std::to_string(type) + " runs past the end of the file");
      if (sections_.count(type)) throw Error(path + ": section " + std::to_string(type) + " appears twice");
      sections_[type] = Section{base_ + pos, len};
      pos += len;
    }
  }
  ~BinFile() {
    if (base_) munmap((void*)base_, size_);
    if (fd_ >= 0) close(fd_);
  }
  BinFile(const BinFile&) = delete;
  BinFile& operator=(const BinFile&) = delete;

  const Section& section(uint32_t id) const {
    auto it = sections_.find(id);
    if (it == sections_.end()) throw Error(path_ + ": missing section " + std::to_string(id));
    return it->second;
  }
  bool has(uint32_t id) const { return sections_.count(id) != 0; }
  uint32_t u32(size_t off) const { uint32_t v; memcpy(&v, base_ + off, 4); return v; }
  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  // The whole mapped file, for reads at absolute offsets (snarkjs sometimes reads past a section's end).
  const uint8_t* base() const { return base_; }
  size_t file_size() const { return size_; }
  // Drops a section's pages from this process once it has been read (they are file-backed and clean), so peak
  // RSS holds about one section of the key at a time rather than the whole file.
  static void release(const Section& s) {
    uintptr_t page = (uintptr_t)4096;
    uintptr_t b = ((uintptr_t)s.data + page - 1) & ~(page - 1);
    uintptr_t e = ((uintptr_t)s.data + s.size) & ~(page - 1);
    if (e > b) madvise((void*)b, (size_t)(e - b), MADV_DONTNEED);
  }
  // Hint the kernel that a section will be read once, front to back.
  void advise_sequential(uint32_t id) const {
    const Section& s = section(id);
    uintptr_t page = (uintptr_t)4096;
    uintptr_t b = (uintptr_t)s.data & ~(page - 1);
    madvise((void*)b, (size_t)((uintptr_t)s.data + s.size - b), MADV_SEQUENTIAL);
  }

 private:
  std::string path_;
  int fd_ = -1;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  std::map<uint32_t, Section> sections_;
};

// Little-endian cursor over a section with bounds checks.
struct Reader {
  const uint8_t* p;
  uint64_t left;
  std::string what;
  Reader(const Section& s, std::string w) : p(s.data), left(s.size), what(std::move(w)) {}
  void need(uint64_t n) {
    if (n > left) throw Error(what + ": section is truncated");
  }
  uint32_t u32() { need(4); uint32_t v; memcpy(&v, p, 4); p += 4; left -= 4; return v; }
  uint64_t u64() { need(8); uint64_t v; memcpy(&v, p, 8); p += 8; left -= 8; return v; }
  const uint8_t* bytes(uint64_t n) { need(n); const uint8_t* r = p; p += n; left -= n; return r; }
};

}  // namespace ozk
