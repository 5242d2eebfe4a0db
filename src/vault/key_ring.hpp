#pragma once
// Master keys ("key-encryption keys"). Each key has an id derived from the key itself (k-<12 hex of a keyed
// hash>), so every node that holds the same key material agrees on the ids, and a wrong key is recognised by
// its id before any decryption is tried.
//
// Sources, in order: the SWITCHBOARD_MASTER_KEY environment value, else the key file. Both hold the same text:
// either one base64 32-byte key, or the key-file JSON {"active":"k-…","keys":[{"id":"k-…","key":"base64"}]}.
// The key file is written with mode 0600 and replaced atomically (write + rename) on rotation.
//
// Thread-safe. When asked for an unknown key id, a file-backed ring re-reads its file once (so a server picks
// up a key that `switchboard keys rotate` added while it was running).
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"

namespace switchboard::vault {

inline constexpr std::size_t kKeyBytes = 32;

class KeyRing {
  public:
    // From text (env or file content). kInvalidArgument names what is wrong with it (never the key bytes).
    static core::Result<std::unique_ptr<KeyRing>> FromText(std::string_view text, std::string source_name);
    // Reads the file; kNotFound when it does not exist; kPermissionDenied when it is group/world readable.
    static core::Result<std::unique_ptr<KeyRing>> FromFile(const std::filesystem::path& path);
    // A new ring with one fresh key, written to path with mode 0600. kConflict if the file exists.
    static core::Result<std::unique_ptr<KeyRing>> CreateFile(const std::filesystem::path& path, core::Random& random);

    KeyRing(const KeyRing&) = delete;
    KeyRing& operator=(const KeyRing&) = delete;

    std::string active_id() const;
    std::vector<std::string> ids() const;
    bool Has(const std::string& id);
    // The key bytes for id (re-reading the file once when unknown). kNotFound when absent.
    core::Result<core::Secret> Get(const std::string& id);
    // Active key id and bytes. A file-backed ring checks (at most once a second) whether the file changed and
    // reloads it, so new seals use a key that `keys rotate` made active while the server was running.
    std::pair<std::string, core::Secret> Active();

    // Adds a fresh key, makes it active, and (for a file-backed ring) rewrites the file atomically.
    // kInvalidArgument for an environment-backed ring (the operator must distribute the new value).
    core::Result<std::string> Rotate(core::Random& random);

    const std::optional<std::filesystem::path>& file() const { return file_; }
    static std::string KeyIdFor(std::string_view key_bytes);

  private:
    KeyRing() = default;
    core::Result<void> ReloadLocked();
    // exclusive: create the file, failing with kConflict when it exists (never replaces it).
    core::Result<void> WriteFileLocked(bool exclusive = false) const;

    mutable std::mutex mutex_;
    std::map<std::string, core::Secret> keys_;
    std::vector<std::string> order_;  // insertion order, for the file
    std::string active_;
    std::optional<std::filesystem::path> file_;
    std::filesystem::file_time_type file_mtime_{};
    std::chrono::steady_clock::time_point last_check_{};
};

}  // namespace switchboard::vault
