// OAuth token refresh: single-flight per connection in this process, a lease row across processes, no
// database lock across the provider call, the new tokens committed before use.
//
// Ordering, and why a crash cannot lose the connection: (1) take the lease; (2) re-read the row — another node
// may have refreshed already; (3) call the provider; (4) commit the new credential set fenced on the version
// read in (2); (5) release the lease. A crash between (3) and (4) loses the new tokens, but the old refresh
// token is still stored: with providers that allow a grace reuse it refreshes again; with strict rotation
// (oidc-provider, Google's "reuse detection") the next refresh gets invalid_grant, and the connection is
// marked needs_reauthorization — visible, audited, and fixed by Reauthorize without losing the connection's id
// or references. A crash before (3) only leaves a lease that expires after its TTL.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "connections/connection_service.hpp"
#include "core/cooperative.hpp"
#include "core/random.hpp"

namespace switchboard::connections {

namespace json = boost::json;
using core::Result;

namespace {

constexpr std::int64_t kLeaseTtlMs = 30'000;
constexpr std::int64_t kMaxMarginMs = 15 * 60 * 1000;

}  // namespace

bool CrashAfterRefreshAnswer() {
    static const bool enabled = [] {
        const char* v = std::getenv("SWITCHBOARD_FAILPOINT_CRASH_AFTER_REFRESH_ANSWER");
        return v != nullptr && std::string_view(v) == "1";
    }();
    return enabled;
}

std::string NewNodeId() {
    core::SodiumRandom random;
    return "node-" + random.Token(9);
}

std::shared_ptr<std::mutex> ConnectionService::RefreshMutex(core::ConnectionId id) {
    std::lock_guard lock(refresh_map_mutex_);
    auto& weak = refresh_mutexes_[id.value()];
    auto strong = weak.lock();
    if (!strong) {
        strong = std::make_shared<std::mutex>();
        weak = strong;
    }
    return strong;
}

Result<bool> ConnectionService::IsDue(const store::Connection& row, const catalog::App& app,
                                      const catalog::ConnectionType& type, const json::object& parameters,
                                      const json::object& data) {
    const std::int64_t now = clock_.NowMillis();
    // The lifetime counts from when these credentials were stored.
    const std::int64_t lifetime =
        row.token_expires_at ? std::max<std::int64_t>(0, *row.token_expires_at - row.updated_at) : 0;
    auto by_condition = oauth_->RefreshDue(app, type, parameters, data);
    if (!by_condition) return by_condition.error();
    if (*by_condition) {
        // An app's fixed margin can exceed a short token's whole lifetime ("15 minutes ahead" on a 10-minute
        // token): never renew a token before half its life, or the refresher would renew it on every pass.
        return **by_condition && (lifetime == 0 || now >= row.updated_at + lifetime / 2);
    }
    if (!row.token_expires_at) return false;
    // min(15 minutes, half the token's lifetime).
    const std::int64_t margin = std::min(kMaxMarginMs, lifetime / 2);
    return now >= *row.token_expires_at - margin;
}

Result<store::Connection> ConnectionService::RefreshIfDue(core::ConnectionId id,
                                                          std::optional<std::int64_t> stale_version) {
    if (!oauth_) return core::InvalidArgument("OAuth is not set up");
    if (core::CurrentScheduler() != nullptr) {
        // The single-flight lock is held across the token call: in a fiber, this runs on a thread that may block
        // (core/cooperative.hpp).
        return core::RunBlockingFor([&] { return RefreshIfDue(id, stale_version); });
    }
    auto guard = RefreshMutex(id);
    std::lock_guard single_flight(*guard);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLeaseTtlMs);
    for (;;) {
        auto row = store_.FindConnection(id);
        if (!row) return row.error();
        auto type = TypeOf(*row);
        if (!type) return type.error();
        const catalog::App* app = catalog_.FindApp((*type)->app);
        if (!app || !(*type)->IsOAuth()) return core::InvalidArgument("not an OAuth connection");
        if (row->status != store::ConnectionStatus::kVerified) return *row;
        auto opened = credentials_.Open(*row);
        if (!opened) return opened.error();
        auto creds = ParseCredentialSet(*opened);
        if (!creds) return creds.error();
        // A refused token at a version that is already replaced: the replacement is fresh.
        if (stale_version && row->version != *stale_version) return *row;
        auto due = IsDue(*row, *app, **type, creds->parameters, creds->data);
        if (!due) return due.error();
        if (!*due && !stale_version) return *row;

        const std::int64_t now = clock_.NowMillis();
        auto lease = store_.AcquireRefreshLease(id, node_id_, now, kLeaseTtlMs);
        if (!lease) return lease.error();
        if (!*lease) {
            // Another node is refreshing: wait for its commit (the row's version moves) or its lease to lapse.
            if (std::chrono::steady_clock::now() > deadline) return core::Unavailable("token refresh is stuck");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        const std::int64_t fence = **lease;
        // Re-read under the lease: the previous holder may have committed between our read and our lease.
        auto current = store_.FindConnection(id);
        if (!current) {
            (void)store_.ReleaseRefreshLease(id, node_id_, fence);
            return current.error();
        }
        if (current->version != row->version) {
            (void)store_.ReleaseRefreshLease(id, node_id_, fence);
            continue;
        }
        auto refreshed = oauth_->Refresh(*app, **type, creds->parameters, creds->data);
        // Failpoint for the crash-ordering test: die between the provider's answer and the commit.
        if (refreshed && CrashAfterRefreshAnswer()) std::_Exit(86);
        if (!refreshed) {
            const std::string reason = refreshed.error().detail;
            const bool revoked = reason.find("invalid_grant") != std::string::npos;
            if (revoked) {
                (void)store_.SetConnectionStatus(
                    row->team_id, id, store::ConnectionStatus::kNeedsReauthorization,
                    "the provider no longer accepts this grant (" + reason + "); reauthorize the connection",
                    std::nullopt, row->version);
                store::AuditEvent e;
                e.team_id = row->team_id;
                e.action = "connection.needs_reauthorization";
                e.target = "connection:" + std::to_string(id.value());
                e.detail_json = json::serialize(json::object{{"reason", reason}});
                (void)store_.AppendAudit(e);
            } else {
                // Transient (5xx, timeout): the connection stays usable while its token is valid.
                spdlog::warn("token refresh of connection {} failed, will retry: {}", id.value(), reason);
            }
            (void)store_.ReleaseRefreshLease(id, node_id_, fence);
            if (revoked) {
                return core::Error::Make(core::Errc::kPermissionDenied, std::string(kAccountValidationError), reason);
            }
            return refreshed.error();
        }
        store::ConnectionReplacement rep;
        rep.status = store::ConnectionStatus::kVerified;
        rep.metadata_json = row->metadata_json;
        rep.scopes_json = row->scopes_json;
        rep.requested_scopes_json = row->requested_scopes_json;
        rep.uid = row->uid;
        rep.expire_at = row->expire_at;
        rep.token_expires_at = oauth::TokenExpiry(*refreshed);
        auto committed = credentials_.Replace(*row, core::Secret(CredentialJson(creds->parameters, *refreshed)), rep);
        (void)store_.ReleaseRefreshLease(id, node_id_, fence);
        if (!committed) return committed.error();
        spdlog::info("refreshed the OAuth token of connection {} (version {})", id.value(), committed->version);
        return committed;
    }
}

int ConnectionService::RefreshDueConnections() {
    if (!oauth_) return 0;
    auto due = store_.ListConnectionsDueForRefresh(clock_.NowMillis() + kMaxMarginMs, 200);
    if (!due) {
        spdlog::warn("token refresher: {}", due.error().detail);
        return 0;
    }
    int refreshed = 0;
    const std::int64_t now = clock_.NowMillis();
    for (const auto& row : *due) {
        {
            std::lock_guard lock(refresh_map_mutex_);
            auto it = schedule_.find(row.id.value());
            if (it != schedule_.end() && it->second.next_attempt > now) continue;
        }
        auto r = RefreshIfDue(row.id);
        std::lock_guard lock(refresh_map_mutex_);
        if (r && r->version != row.version) {
            schedule_.erase(row.id.value());
            ++refreshed;
        } else if (r) {
            // Not due yet. Checking means opening the credentials, so look again after a tenth of the token's
            // remaining life (1 s … 30 s) rather than on every pass.
            const std::int64_t left = r->token_expires_at ? *r->token_expires_at - now : 0;
            schedule_[row.id.value()] = {0, now + std::clamp<std::int64_t>(left / 10, 1000, 30'000)};
        } else if (r.error().message != kAccountValidationError) {
            // Transient (provider down, timeout): back off 2, 4, 8 … 60 s; uses still refresh on demand.
            auto& b = schedule_[row.id.value()];
            b.failures = std::min(b.failures + 1, 6);
            b.next_attempt = now + std::min<std::int64_t>(60'000, 1000LL << b.failures);
        }
    }
    return refreshed;
}

}  // namespace switchboard::connections
