#include "connections/credential_store.hpp"

#include <spdlog/spdlog.h>

namespace switchboard::connections {

using core::Result;

Result<store::Connection> CredentialStore::Create(const NewConnection& c, const core::Secret& data) {
    store::Connection row;
    row.team_id = c.team;
    row.name = c.name;
    row.app = c.app;
    row.type = c.type;
    row.status = store::ConnectionStatus::kPending;
    row.metadata_json = c.metadata_json;
    row.scopes_json = c.scopes_json;
    auto created = store_.CreateConnection(row);
    if (!created) return created.error();
    auto stored = Replace(*created, data, c.metadata_json, c.scopes_json);
    if (!stored) {
        // Never leave a half-written row behind.
        (void)store_.DeleteConnection(created->team_id, created->id);
        return stored.error();
    }
    return stored;
}

Result<store::Connection> CredentialStore::Replace(const store::Connection& current, const core::Secret& data,
                                                   const std::string& metadata_json, const std::string& scopes_json) {
    const std::int64_t next_version = current.version + 1;
    auto sealed = vault_.Seal({current.team_id, current.id, next_version}, data);
    if (!sealed) return sealed.error();
    auto replaced =
        store_.ReplaceConnectionData(current.team_id, current.id, current.version, *sealed, metadata_json, scopes_json);
    if (!replaced) return replaced.error();
    if (auto s =
            store_.SetConnectionStatus(current.team_id, current.id, store::ConnectionStatus::kOk, "", std::nullopt);
        !s) {
        return s.error();
    }
    replaced->status = store::ConnectionStatus::kOk;
    replaced->status_detail.clear();
    return replaced;
}

Result<core::Secret> CredentialStore::Open(const store::Connection& c) {
    auto opened = vault_.Open({c.team_id, c.id, c.version}, c.sealed);
    if (opened) return opened;
    const std::string reason = "credentials cannot be opened: " + opened.error().detail;
    spdlog::error("connection {} of team {} is broken: {}", c.id.value(), c.team_id.value(), reason);
    (void)store_.SetConnectionStatus(c.team_id, c.id, store::ConnectionStatus::kBroken, reason, std::nullopt);
    return opened.error();
}

}  // namespace switchboard::connections
