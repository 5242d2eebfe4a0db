#include "connections/resolve_cache.hpp"

#include <algorithm>
#include <utility>

namespace switchboard::connections {

std::shared_ptr<const ResolveCache::Entry> ResolveCache::Find(core::ConnectionId id, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    if (!UsableLocked() || writing_.contains(id.value())) {
        ++stats_.misses;
        return nullptr;
    }
    auto it = entries_.find(id.value());
    if (it == entries_.end()) {
        ++stats_.misses;
        return nullptr;
    }
    // Also when the clock went backwards by more than max_age: read again rather than trust an odd age.
    const std::int64_t age = now_ms - it->second->stored_at;
    if (age > options_.max_age_ms || age < -options_.max_age_ms) {
        entries_.erase(it);
        ++stats_.misses;
        return nullptr;
    }
    ++stats_.hits;
    return it->second;
}

ResolveCache::Ticket ResolveCache::Begin() {
    std::lock_guard lock(mutex_);
    return Ticket{generation_, UsableLocked()};
}

bool ResolveCache::Insert(const Ticket& ticket, std::shared_ptr<const Entry> entry) {
    const std::int64_t id = entry->resolved.row.id.value();
    std::shared_ptr<const Entry> evicted;  // freed after the lock is released
    std::lock_guard lock(mutex_);
    if (!ticket.usable || !UsableLocked() || ticket.generation != generation_ || writing_.contains(id)) {
        ++stats_.refused_inserts;
        return false;
    }
    if (options_.max_entries == 0) return false;
    auto it = entries_.find(id);
    if (it == entries_.end() && entries_.size() >= options_.max_entries) {
        // Any entry will do: a busy connection comes back on its next run.
        auto victim = entries_.begin();
        evicted = std::move(victim->second);
        entries_.erase(victim);
    }
    if (it != entries_.end()) {
        evicted = std::move(it->second);
        it->second = std::move(entry);
    } else {
        entries_.emplace(id, std::move(entry));
    }
    ++stats_.inserts;
    return true;
}

void ResolveCache::DropLocked(std::int64_t id) {
    entries_.erase(id);
    ++generation_;
    ++stats_.invalidations;
}

void ResolveCache::ConnectionWriteStarting(core::ConnectionId id) {
    std::lock_guard lock(mutex_);
    ++writing_[id.value()];
    DropLocked(id.value());
}

void ResolveCache::ConnectionWriteFinished(core::ConnectionId id) {
    std::lock_guard lock(mutex_);
    // Dropped again now that the write has committed (or failed): a resolve that read the row meanwhile took its
    // ticket before this generation and cannot insert.
    DropLocked(id.value());
    if (auto it = writing_.find(id.value()); it != writing_.end() && --it->second <= 0) writing_.erase(it);
}

void ResolveCache::Invalidate(core::ConnectionId id) {
    std::lock_guard lock(mutex_);
    DropLocked(id.value());
}

ResolveCache::Entries ResolveCache::ClearLocked() {
    Entries dropped;
    dropped.swap(entries_);
    ++generation_;
    return dropped;
}

void ResolveCache::InvalidateAll() {
    Entries dropped;  // freed after the lock is released
    std::lock_guard lock(mutex_);
    dropped = ClearLocked();
    ++stats_.invalidations;
}

void ResolveCache::SetTrusted(bool trusted) {
    Entries dropped;
    std::lock_guard lock(mutex_);
    trusted_ = trusted;
    dropped = ClearLocked();
}

bool ResolveCache::trusted() const {
    std::lock_guard lock(mutex_);
    return trusted_;
}

void ResolveCache::SetEnabled(bool enabled) {
    Entries dropped;
    std::lock_guard lock(mutex_);
    enabled_ = enabled;
    dropped = ClearLocked();
}

void ResolveCache::SetOptions(Options options) {
    Entries dropped;
    std::lock_guard lock(mutex_);
    options_ = options;
    dropped = ClearLocked();
}

ResolveCache::Stats ResolveCache::stats() const {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.entries = entries_.size();
    return s;
}

}  // namespace switchboard::connections
