// ConnectionService::ResolveForRun: a connection opened for a scenario run.
#include "connections/connection_service.hpp"

namespace switchboard::connections {

using core::Result;

Result<ResolvedConnection> ConnectionService::ResolveForRun(core::TeamId team, core::ConnectionId id,
                                                            std::optional<std::int64_t> stale_version) {
    const std::string name = "connection " + std::to_string(id.value());
    auto row = store_.FindConnection(id);
    if (!row && row.error().code == core::Errc::kNotFound) return core::NotFound(name + " does not exist");
    if (!row) return row.error();
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
    if ((*type)->IsOAuth() && oauth_) {
        auto fresh = RefreshIfDue(id, stale_version);
        if (!fresh) return fresh.error();
        *row = std::move(*fresh);
        if (auto e = unusable(*row)) return *e;
    }
    auto opened = credentials_.Open(*row);
    if (!opened) return core::Conflict(name + " cannot be opened: " + opened.error().detail);
    auto creds = ParseCredentialSet(*opened);
    if (!creds) return creds.error();
    return ResolvedConnection{std::move(*row), app, *type, std::move(*creds)};
}

}  // namespace switchboard::connections
