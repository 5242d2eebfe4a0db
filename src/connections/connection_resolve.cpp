// ConnectionService::ResolveForRun: a connection opened for a scenario run, and the resolve cache that spares a
// repeated run the row read and the two decryptions (resolve_cache.hpp says why it never serves a stale entry).
#include <spdlog/spdlog.h>

#include <charconv>
#include <limits>

#include "connections/connection_service.hpp"
#include "http_client/sanitizer.hpp"

namespace switchboard::connections {

using core::Result;

ConnectionService::ConnectionService(store::Store& store, CredentialStore& credentials, const catalog::Catalog& catalog,
                                     Verifier& verifier, accounts::AccountService& accounts, const core::Clock& clock,
                                     oauth::OAuthEngine* oauth)
    : store_(store),
      credentials_(credentials),
      catalog_(catalog),
      verifier_(verifier),
      accounts_(accounts),
      clock_(clock),
      oauth_(oauth),
      node_id_(NewNodeId()) {
    store_.AddConnectionWriteObserver(cache_);
    // SQLite: the serving process is the only writer of connection rows, and its writes all pass through the
    // store. PostgreSQL: other nodes write too, so the cache waits for FollowConnectionChanges to be listening.
    cache_.SetTrusted(store_.db().backend() == store::Backend::kSqlite);
}

ConnectionService::~ConnectionService() {
    listener_.reset();
    store_.RemoveConnectionWriteObserver(cache_);
}

Result<void> ConnectionService::FollowConnectionChanges(const std::string& database_url,
                                                        store::PgNotificationListener::Options options) {
    if (listener_) return core::InvalidArgument("already following connection changes");
    if (store_.db().backend() != store::Backend::kPostgres) {
        return core::InvalidArgument("connection changes are followed on PostgreSQL only");
    }
    cache_.SetTrusted(false);
    store::PgNotificationListener::Callbacks callbacks;
    // LISTEN is in effect: from now on every commit is announced, and what was missed before is read again.
    callbacks.on_listening = [this] { cache_.SetTrusted(true); };
    callbacks.on_lost = [this] { cache_.SetTrusted(false); };
    callbacks.on_notification = [this](std::string_view payload) {
        std::int64_t id = 0;
        auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), id);
        if (ec != std::errc() || end != payload.data() + payload.size()) {
            cache_.InvalidateAll();  // not ours to understand: the safe reading is "anything changed"
            return;
        }
        cache_.Invalidate(core::ConnectionId(id));
    };
    auto listener = store::PgNotificationListener::Start(database_url, std::string(store::kConnectionChangesChannel),
                                                         std::move(callbacks), options);
    if (!listener) return listener.error();
    listener_ = std::move(*listener);
    return {};
}

std::int64_t ConnectionService::DueCheckFrom(const store::Connection& row) {
    // IsDue: with the app's condition, never before half the token's lifetime; without one, at the expiry minus
    // min(15 min, half the lifetime), which is later. No known lifetime: the condition alone decides (ask always).
    const std::int64_t lifetime =
        row.token_expires_at ? std::max<std::int64_t>(0, *row.token_expires_at - row.updated_at) : 0;
    return lifetime > 0 ? row.updated_at + lifetime / 2 : 0;
}

std::optional<Result<ResolvedConnection>> ConnectionService::FromCache(const ResolveCache::Entry& entry,
                                                                       core::TeamId team, std::int64_t now) {
    const ResolvedConnection& cached = entry.resolved;
    if (cached.row.team_id != team) {
        return Result<ResolvedConnection>(
            core::NotFound("connection " + std::to_string(cached.row.id.value()) + " does not exist"));
    }
    if (now >= entry.due_check_from) {
        // What RefreshIfDue would decide, on the same credentials: when it would refresh, so does the uncached path.
        auto due = IsDue(cached.row, *cached.app, *cached.type, cached.credentials.parameters, cached.credentials.data);
        if (!due || *due) return std::nullopt;
    }
    return Result<ResolvedConnection>(cached);
}

Result<ResolvedConnection> ConnectionService::ResolveForRun(core::TeamId team, core::ConnectionId id,
                                                            std::optional<std::int64_t> stale_version) {
    const std::int64_t now = clock_.NowMillis();
    // A stale_version means the app refused the token we handed out: never answer that from memory.
    if (!stale_version) {
        if (auto entry = cache_.Find(id, now)) {
            if (auto served = FromCache(*entry, team, now)) return std::move(*served);
        }
    }
    // Taken before the read: if the row changes after we read it, Insert below refuses what we read.
    const ResolveCache::Ticket ticket = cache_.Begin();

    const std::string name = "connection " + std::to_string(id.value());
    auto row = store_.FindConnection(id);
    if (!row && row.error().code == core::Errc::kNotFound) return core::NotFound(name + " does not exist");
    if (!row) return row.error();
    if (resolve_read_hook_) resolve_read_hook_();
    if (row->team_id != team) return core::NotFound(name + " does not exist");
    auto type = TypeOf(*row);
    if (!type) return type.error();
    const catalog::App* app = catalog_.FindApp((*type)->app);
    if (!app) return core::Conflict(name + ": app " + (*type)->app + " is no longer in the catalog");

    auto unusable = [&](const store::Connection& r) -> std::optional<core::Error> {
        const std::string label = "connection '" + r.name + "' (" + std::to_string(r.id.value()) + ")";
        switch (r.status) {
            case store::ConnectionStatus::kNeedsReauthorization:
                return core::Conflict(label + " needs reauthorization" +
                                      (r.status_detail.empty() ? "" : ": " + r.status_detail));
            case store::ConnectionStatus::kPending:
                return core::Conflict(label + " was never authorized: its consent was not completed");
            case store::ConnectionStatus::kBroken:
                return core::Conflict(label + " cannot be opened" +
                                      (r.status_detail.empty() ? "" : ": " + r.status_detail));
            default:
                return std::nullopt;
        }
    };
    if (auto e = unusable(*row)) return *e;
    const bool refreshes = (*type)->IsOAuth() && oauth_;
    if (refreshes) {
        auto fresh = RefreshIfDue(id, stale_version);
        if (!fresh) return fresh.error();
        *row = std::move(*fresh);
        if (auto e = unusable(*row)) return *e;
    }
    auto opened = credentials_.Open(*row);
    if (!opened) return core::Conflict(name + " cannot be opened: " + opened.error().detail);
    auto creds = ParseCredentialSet(*opened);
    if (!creds) return creds.error();

    ResolvedConnection out{std::move(*row), app, *type, std::move(*creds), nullptr};
    if (!ticket.usable) return out;  // switched off or not trusted: no copy for an insert that would be refused
    auto entry = std::make_shared<ResolveCache::Entry>();
    std::vector<core::Secret> secrets;
    CollectCredentialSecrets(*out.type, out.credentials.parameters, out.credentials.data, secrets);
    out.sanitizer = std::make_shared<const http_client::Sanitizer>(std::move(secrets));
    entry->resolved = out;
    entry->stored_at = now;
    // RefreshIfDue only ever refreshes verified rows.
    if (refreshes && entry->resolved.row.status == store::ConnectionStatus::kVerified) {
        entry->due_check_from = DueCheckFrom(entry->resolved.row);
    }
    cache_.Insert(ticket, std::move(entry));
    return out;
}

}  // namespace switchboard::connections
