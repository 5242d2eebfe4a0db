#include "vault/key_ring.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/encoding.hpp"

namespace switchboard::vault {

namespace json = boost::json;
using core::Result;

std::string KeyRing::KeyIdFor(std::string_view key_bytes) {
    // A keyed hash (BLAKE2b with a fixed context) so the id reveals nothing usable about the key.
    static constexpr char kContext[] = "switchboard key id v1";
    unsigned char out[16];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(key_bytes.data()), key_bytes.size(),
                       reinterpret_cast<const unsigned char*>(kContext), sizeof kContext - 1);
    return "k-" + core::HexEncode(std::string_view(reinterpret_cast<const char*>(out), 6));
}

namespace {

core::Error Bad(const std::string& source, const std::string& what) {
    return core::InvalidArgument("master key from " + source + ": " + what);
}

}  // namespace

Result<std::unique_ptr<KeyRing>> KeyRing::FromText(std::string_view text, std::string source_name) {
    std::unique_ptr<KeyRing> ring(new KeyRing());
    std::string trimmed(text);
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.erase(0, 1);
    if (trimmed.empty()) return Bad(source_name, "it is empty");

    auto add = [&](std::string_view b64, const std::string& claimed_id) -> Result<std::string> {
        auto raw = core::Base64Decode(b64);
        if (!raw || raw->size() != kKeyBytes) {
            if (raw) sodium_memzero(raw->data(), raw->size());
            return Bad(source_name, "a key is not base64 of 32 bytes");
        }
        core::Secret key(std::move(*raw));
        std::string id = KeyIdFor(key.Reveal());
        if (!claimed_id.empty() && claimed_id != id) {
            return Bad(source_name, "key id " + claimed_id + " does not match its key (expected " + id + ")");
        }
        if (!ring->keys_.contains(id)) ring->order_.push_back(id);
        ring->keys_[id] = std::move(key);
        return id;
    };

    if (trimmed.front() != '{') {
        auto id = add(trimmed, "");
        if (!id) return id.error();
        ring->active_ = *id;
        sodium_memzero(trimmed.data(), trimmed.size());
        return ring;
    }
    json::error_code ec;
    json::value doc = json::parse(trimmed, ec);
    sodium_memzero(trimmed.data(), trimmed.size());
    if (ec || !doc.is_object()) return Bad(source_name, "not valid JSON");
    const auto* keys = doc.as_object().if_contains("keys");
    if (!keys || !keys->is_array() || keys->as_array().empty())
        return Bad(source_name, "\"keys\" must be a non-empty array");
    for (const auto& k : keys->as_array()) {
        const auto* obj = k.if_object();
        const json::value* key = obj ? obj->if_contains("key") : nullptr;
        const json::value* id = obj ? obj->if_contains("id") : nullptr;
        if (!key || !key->is_string()) return Bad(source_name, "every entry of \"keys\" needs a \"key\" string");
        auto added = add(key->as_string(), id && id->is_string() ? std::string(id->as_string()) : "");
        if (!added) return added.error();
    }
    const auto* active = doc.as_object().if_contains("active");
    if (active && active->is_string()) {
        ring->active_ = std::string(active->as_string());
        if (!ring->keys_.contains(ring->active_))
            return Bad(source_name, "active key " + ring->active_ + " is not in \"keys\"");
    } else {
        ring->active_ = ring->order_.back();
    }
    // Wipe the parsed copy of the key text.
    for (auto& k : doc.as_object()["keys"].as_array()) {
        if (auto* obj = k.if_object()) {
            if (auto* key = obj->if_contains("key"); key && key->is_string()) {
                auto& s = key->as_string();
                sodium_memzero(s.data(), s.size());
            }
        }
    }
    return ring;
}

Result<std::unique_ptr<KeyRing>> KeyRing::FromFile(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return core::NotFound("master key file " + path.string() + " does not exist");
    if ((st.st_mode & 0077) != 0) {
        return core::Error::Make(
            core::Errc::kPermissionDenied, "Permission denied",
            "master key file " + path.string() + " is readable by group or others; run: chmod 600 " + path.string());
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::Unavailable("cannot read master key file " + path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    auto ring = FromText(text, path.string());
    sodium_memzero(text.data(), text.size());
    if (!ring) return ring.error();
    (*ring)->file_ = path;
    std::error_code ec;
    (*ring)->file_mtime_ = std::filesystem::last_write_time(path, ec);
    (*ring)->last_check_ = std::chrono::steady_clock::now();
    return ring;
}

Result<std::unique_ptr<KeyRing>> KeyRing::CreateFile(const std::filesystem::path& path, core::Random& random) {
    if (std::filesystem::exists(path)) return core::Conflict("master key file " + path.string() + " already exists");
    std::unique_ptr<KeyRing> ring(new KeyRing());
    core::Secret key(random.Bytes(kKeyBytes));
    ring->active_ = KeyIdFor(key.Reveal());
    ring->order_.push_back(ring->active_);
    ring->keys_[ring->active_] = std::move(key);
    ring->file_ = path;
    std::lock_guard lock(ring->mutex_);
    if (auto w = ring->WriteFileLocked(/*exclusive=*/true); !w) return w.error();
    return ring;
}

Result<void> KeyRing::WriteFileLocked(bool exclusive) const {
    json::array keys;
    for (const auto& id : order_) {
        json::object k;
        k["id"] = id;
        k["key"] = core::Base64Encode(keys_.at(id).Reveal());
        keys.push_back(std::move(k));
    }
    json::object doc;
    doc["active"] = active_;
    doc["keys"] = std::move(keys);
    std::string text = json::serialize(doc) + "\n";
    const std::string tmp = file_->string() + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return core::Unavailable("cannot write master key file " + tmp + ": " + std::strerror(errno));
    ::fchmod(fd, 0600);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(text.data(), text.size());
    if (!ok) {
        std::remove(tmp.c_str());
        return core::Unavailable("cannot write master key file " + file_->string());
    }
    if (exclusive) {
        // First key: link() fails if the file appeared meanwhile (two first starts at once), so a key that
        // another process may already be using is never replaced.
        const int linked = ::link(tmp.c_str(), file_->c_str());
        const int saved = errno;
        std::remove(tmp.c_str());
        if (linked != 0) {
            if (saved == EEXIST) return core::Conflict("master key file " + file_->string() + " already exists");
            return core::Unavailable("cannot write master key file " + file_->string() + ": " + std::strerror(saved));
        }
        return {};
    }
    if (std::rename(tmp.c_str(), file_->c_str()) != 0) {
        std::remove(tmp.c_str());
        return core::Unavailable("cannot write master key file " + file_->string());
    }
    return {};
}

std::string KeyRing::active_id() const {
    std::lock_guard lock(mutex_);
    return active_;
}

std::vector<std::string> KeyRing::ids() const {
    std::lock_guard lock(mutex_);
    return order_;
}

Result<void> KeyRing::ReloadLocked() {
    if (!file_) return core::NotFound("no key file to reload");
    auto fresh = FromFile(*file_);
    if (!fresh) return fresh.error();
    file_mtime_ = (*fresh)->file_mtime_;
    keys_ = std::move((*fresh)->keys_);
    order_ = std::move((*fresh)->order_);
    active_ = std::move((*fresh)->active_);
    return {};
}

bool KeyRing::Has(const std::string& id) { return Get(id).has_value(); }

Result<core::Secret> KeyRing::Get(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(id);
    if (it == keys_.end() && file_) {
        if (auto r = ReloadLocked(); r) it = keys_.find(id);
    }
    if (it == keys_.end()) return core::NotFound("master key " + id + " is not in the key ring");
    return it->second;
}

std::pair<std::string, core::Secret> KeyRing::Active() {
    std::lock_guard lock(mutex_);
    if (file_) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_check_ >= std::chrono::seconds(1)) {
            last_check_ = now;
            std::error_code ec;
            const auto mtime = std::filesystem::last_write_time(*file_, ec);
            if (!ec && mtime != file_mtime_) {
                // A failed reload keeps the keys we have: sealing must not stop because of a bad edit.
                if (ReloadLocked()) file_mtime_ = mtime;
            }
        }
    }
    return {active_, keys_.at(active_)};
}

Result<std::string> KeyRing::Rotate(core::Random& random) {
    std::lock_guard lock(mutex_);
    if (!file_) {
        return core::InvalidArgument(
            "the master key comes from SWITCHBOARD_MASTER_KEY; rotate by moving it into a key file (see docs/keys.md)");
    }
    if (auto r = ReloadLocked(); !r) return r.error();
    core::Secret key(random.Bytes(kKeyBytes));
    std::string id = KeyIdFor(key.Reveal());
    keys_[id] = std::move(key);
    order_.push_back(id);
    const std::string previous = active_;
    active_ = id;
    if (auto w = WriteFileLocked(); !w) {
        keys_.erase(id);
        order_.pop_back();
        active_ = previous;
        return w.error();
    }
    return id;
}

}  // namespace switchboard::vault
