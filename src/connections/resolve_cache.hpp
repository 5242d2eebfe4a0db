#pragma once
// The resolve cache: connections opened for scenario runs (ResolvedConnection), kept in memory so that a run does
// not read the row and decrypt the credential set again while nothing changed (see docs/connections.md, "Caching
// for runs").
//
// Correctness rests on three rules, all enforced here:
// - Every write to a connection row drops its entry. Writes through this process's store are announced by the
//   store itself (store::ConnectionWriteObserver): before the statement runs the id is marked as being written (no
//   hit, no insert), and once it has committed the entry is dropped. Writes by other processes arrive as
//   Invalidate(id) from a PostgreSQL LISTEN connection (ConnectionService::FollowConnectionChanges).
// - A resolve that read the row before a write committed cannot put what it read into the cache afterwards: it takes
//   a Ticket (the invalidation generation) before reading, and Insert refuses when any invalidation happened since.
// - While the cache cannot know about other writers (a PostgreSQL node whose LISTEN connection is down or not yet
//   established), it is not trusted: empty, every Find misses and every Insert is refused.
//
// The cache holds plaintext credentials in memory only, bounded by max_entries (an arbitrary entry is evicted when
// full) and by max_age (an entry older than that is read again, which bounds the effect of a writer nobody told
// us about). Thread-safe; every method takes one short lock and none calls out while holding it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "catalog/app.hpp"
#include "connections/credential_store.hpp"
#include "core/ids.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace switchboard::http_client {
class Sanitizer;
}

namespace switchboard::connections {

// A connection opened for one scenario run: the row as it is now (refreshed when its token was due), its app and
// type, and the credential set. Holds secrets: never log or serialise it.
struct ResolvedConnection {
    store::Connection row;
    const catalog::App* app = nullptr;
    const catalog::ConnectionType* type = nullptr;
    CredentialSet credentials;
    // Masks this connection's secrets (built once per cache entry: computing the encoded forms of the secrets costs
    // more than the cache hit itself). Null when the resolve was not cached; a run then builds its own.
    std::shared_ptr<const http_client::Sanitizer> sanitizer;
};

class ResolveCache final : public store::ConnectionWriteObserver {
  public:
    struct Options {
        std::size_t max_entries = 4096;
        std::int64_t max_age_ms = 30'000;
    };

    struct Entry {
        ResolvedConnection resolved;
        std::int64_t stored_at = 0;  // clock ms
        // OAuth: from this time on the token may be due for a refresh, so a hit must ask first (IsDue); before it
        // the token cannot be due. Never for other types.
        std::int64_t due_check_from = std::numeric_limits<std::int64_t>::max();
    };

    // Taken before a resolve reads the row; Insert accepts the result only if nothing was invalidated since.
    struct Ticket {
        std::uint64_t generation = 0;
        bool usable = false;
    };

    struct Stats {
        std::int64_t hits = 0;
        std::int64_t misses = 0;
        std::int64_t inserts = 0;
        std::int64_t refused_inserts = 0;  // an invalidation happened between the read and the insert
        std::int64_t invalidations = 0;
        std::size_t entries = 0;
    };

    ResolveCache() = default;
    explicit ResolveCache(Options options) : options_(options) {}

    // The entry for id when the cache is usable, no write of id is in flight and the entry is younger than
    // max_age; null otherwise (counted as a miss). The entry is shared and immutable.
    std::shared_ptr<const Entry> Find(core::ConnectionId id, std::int64_t now_ms);
    Ticket Begin();
    // Stores the entry unless the ticket is stale, the cache is not usable, or a write of its id is in flight.
    // Returns whether it was stored.
    bool Insert(const Ticket& ticket, std::shared_ptr<const Entry> entry);

    // store::ConnectionWriteObserver: writes through this process's store.
    void ConnectionWriteStarting(core::ConnectionId id) override;
    void ConnectionWriteFinished(core::ConnectionId id) override;

    // Another process changed (or may have changed) this connection / any connection.
    void Invalidate(core::ConnectionId id);
    void InvalidateAll();
    // Whether the cache may trust that it hears of every write (SQLite: this process is the only writer;
    // PostgreSQL: LISTEN is in effect). Either change empties it.
    void SetTrusted(bool trusted);
    bool trusted() const;
    // Switched off (benchmarks, diagnosis): empty, every Find misses. On by default.
    void SetEnabled(bool enabled);
    void SetOptions(Options options);

    Stats stats() const;

  private:
    bool UsableLocked() const { return trusted_ && enabled_; }
    void DropLocked(std::int64_t id);
    using Entries = std::unordered_map<std::int64_t, std::shared_ptr<const Entry>>;
    // Empties the cache and moves the generation on; returns the entries for the caller to free after unlocking.
    Entries ClearLocked();

    mutable std::mutex mutex_;
    Options options_;
    bool trusted_ = false;
    bool enabled_ = true;
    std::uint64_t generation_ = 0;
    Entries entries_;
    std::unordered_map<std::int64_t, int> writing_;  // ids with a write in flight in this process
    Stats stats_;
};

}  // namespace switchboard::connections
