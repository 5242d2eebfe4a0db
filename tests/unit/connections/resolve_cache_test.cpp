// The resolve cache's own rules, without a database: a ticket older than an invalidation cannot insert, a write in
// flight hides and blocks its id, an untrusted or switched-off cache neither serves nor stores, entries age out,
// and the size stays bounded.
#include "connections/resolve_cache.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace switchboard::connections {
namespace {

std::shared_ptr<const ResolveCache::Entry> MakeEntry(std::int64_t id, std::int64_t stored_at = 0,
                                                     std::int64_t version = 1) {
    auto e = std::make_shared<ResolveCache::Entry>();
    e->resolved.row.id = core::ConnectionId(id);
    e->resolved.row.team_id = core::TeamId(1);
    e->resolved.row.version = version;
    e->stored_at = stored_at;
    return e;
}

TEST(ResolveCache, ServesWhatWasInsertedAndNothingElse) {
    ResolveCache cache;
    cache.SetTrusted(true);
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7)));
    auto hit = cache.Find(core::ConnectionId(7), 0);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->resolved.row.id.value(), 7);
    EXPECT_EQ(cache.Find(core::ConnectionId(8), 0), nullptr);
    const auto stats = cache.stats();
    EXPECT_EQ(stats.hits, 1);
    EXPECT_EQ(stats.misses, 2);
    EXPECT_EQ(stats.entries, 1u);
}

TEST(ResolveCache, AReadThatStartedBeforeAnInvalidationCannotInsert) {
    ResolveCache cache;
    cache.SetTrusted(true);
    // A resolve takes its ticket, reads the row… and meanwhile another node's edit is announced.
    const auto ticket = cache.Begin();
    cache.Invalidate(core::ConnectionId(7));
    EXPECT_FALSE(cache.Insert(ticket, MakeEntry(7)));
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0), nullptr);
    // Same with a write through this process's store, and with an invalidation of everything.
    const auto before_write = cache.Begin();
    cache.ConnectionWriteStarting(core::ConnectionId(7));
    cache.ConnectionWriteFinished(core::ConnectionId(7));
    EXPECT_FALSE(cache.Insert(before_write, MakeEntry(7)));
    const auto before_all = cache.Begin();
    cache.InvalidateAll();
    EXPECT_FALSE(cache.Insert(before_all, MakeEntry(7)));
    EXPECT_EQ(cache.stats().refused_inserts, 3);
    // A read that starts afterwards may.
    EXPECT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7)));
}

TEST(ResolveCache, AWriteInFlightHidesItsIdUntilItHasCommitted) {
    ResolveCache cache;
    cache.SetTrusted(true);
    ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7)));
    ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(8)));
    cache.ConnectionWriteStarting(core::ConnectionId(7));
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0), nullptr);
    // A resolve that reads while the statement runs may see the old row: it must not be stored.
    EXPECT_FALSE(cache.Insert(cache.Begin(), MakeEntry(7)));
    // Two writes of the same id at once: hidden until both are done.
    cache.ConnectionWriteStarting(core::ConnectionId(7));
    cache.ConnectionWriteFinished(core::ConnectionId(7));
    EXPECT_FALSE(cache.Insert(cache.Begin(), MakeEntry(7)));
    cache.ConnectionWriteFinished(core::ConnectionId(7));
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7, 0, 2)));
    ASSERT_NE(cache.Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0)->resolved.row.version, 2);
    // The other connection was not touched.
    EXPECT_NE(cache.Find(core::ConnectionId(8), 0), nullptr);
}

TEST(ResolveCache, AnUntrustedCacheNeitherServesNorStores) {
    ResolveCache cache;  // untrusted until told otherwise (a PostgreSQL node before LISTEN)
    EXPECT_FALSE(cache.Insert(cache.Begin(), MakeEntry(7)));
    cache.SetTrusted(true);
    ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7)));
    // The LISTEN connection is lost: what is cached may miss an edit, so it goes.
    const auto ticket = cache.Begin();
    cache.SetTrusted(false);
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_FALSE(cache.Insert(cache.Begin(), MakeEntry(7)));
    // Back: empty, and a ticket from before the loss still cannot insert.
    cache.SetTrusted(true);
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_FALSE(cache.Insert(ticket, MakeEntry(7)));
    EXPECT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7)));
}

TEST(ResolveCache, SwitchedOffItNeitherServesNorStores) {
    auto cache = std::make_unique<ResolveCache>();
    cache->SetTrusted(true);
    ASSERT_TRUE(cache->Insert(cache->Begin(), MakeEntry(7)));
    cache->SetEnabled(false);
    EXPECT_EQ(cache->Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_FALSE(cache->Insert(cache->Begin(), MakeEntry(7)));
    cache->SetEnabled(true);
    EXPECT_EQ(cache->Find(core::ConnectionId(7), 0), nullptr);
    EXPECT_EQ(cache->stats().hits, 0);
}

TEST(ResolveCache, EntriesOlderThanTheMaxAgeAreReadAgain) {
    ResolveCache cache({.max_entries = 16, .max_age_ms = 1000});
    cache.SetTrusted(true);
    ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(7, 5000)));
    EXPECT_NE(cache.Find(core::ConnectionId(7), 6000), nullptr);
    EXPECT_EQ(cache.Find(core::ConnectionId(7), 6001), nullptr);
    // Gone, not only skipped.
    EXPECT_EQ(cache.stats().entries, 0u);
    // A clock that jumped back by more than the max age does not make an entry look fresh forever.
    ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(8, 5000)));
    EXPECT_EQ(cache.Find(core::ConnectionId(8), 3000), nullptr);
}

TEST(ResolveCache, ItsSizeStaysBounded) {
    ResolveCache cache({.max_entries = 3, .max_age_ms = 1000});
    cache.SetTrusted(true);
    for (int id = 1; id <= 50; ++id) {
        ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(id)));
        EXPECT_LE(cache.stats().entries, 3u);
        // The newest is always there.
        EXPECT_NE(cache.Find(core::ConnectionId(id), 0), nullptr) << id;
    }
    // Replacing an existing id does not evict another.
    ASSERT_TRUE(cache.Insert(cache.Begin(), MakeEntry(50, 0, 2)));
    EXPECT_EQ(cache.stats().entries, 3u);
    EXPECT_EQ(cache.Find(core::ConnectionId(50), 0)->resolved.row.version, 2);
}

}  // namespace
}  // namespace switchboard::connections
