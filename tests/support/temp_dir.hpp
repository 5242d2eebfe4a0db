#pragma once
#include <filesystem>
#include <string>

namespace switchboard::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

// Reads a whole file as bytes ("" when missing).
std::string ReadFile(const std::filesystem::path& p);

}  // namespace switchboard::testing
