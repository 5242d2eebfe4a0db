#pragma once
// Sealed credential sets on connection rows: the seam between the vault and the store that the connection
// service builds on. Create/Replace seal for the row's (team, id, version); Open unseals, and a row that
// cannot be opened (wrong or missing master key, tampered or copied ciphertext) is marked `broken` with the
// reason — only that connection; every other row and the listing keep working.
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/app.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace switchboard::connections {

// The sealed credential set's layout: {"parameters": {the user's fields}, "data": {what the app's requests
// stored: tokens, account data}}.
struct CredentialSet {
    boost::json::object parameters;
    boost::json::object data;
};
// Every value of a credential set that may be secret, appended to `out` (secret parameters, stored data, the type's
// common values): what sanitizers of requests made with these credentials must mask.
void CollectCredentialSecrets(const catalog::ConnectionType& type, const boost::json::object& parameters,
                              const boost::json::object& data, std::vector<core::Secret>& out);

std::string CredentialJson(const boost::json::object& parameters, const boost::json::object& data);
core::Result<CredentialSet> ParseCredentialSet(const core::Secret& secret);

class CredentialStore {
  public:
    CredentialStore(store::Store& store, vault::Vault& vault) : store_(store), vault_(vault) {}

    // Inserts the row (id, version and times are assigned) and its data sealed for (team, new id, version 1) in one
    // transaction.
    core::Result<store::Connection> Create(const store::Connection& row, const core::Secret& data);
    // Replaces the whole credential set and the fields in `replacement` (its `sealed` is filled here) at
    // version + 1; kConflict when someone replaced it first. The old ciphertext is overwritten in the same row.
    core::Result<store::Connection> Replace(const store::Connection& current, const core::Secret& data,
                                            store::ConnectionReplacement replacement);
    // Short-lived secrets tied to a connection row but not part of its credential set (the PKCE verifier of a
    // consent in flight): sealed for (team, id, version 0), which no credential set ever uses.
    core::Result<std::string> SealAside(const store::Connection& c, const core::Secret& value);
    core::Result<core::Secret> OpenAside(const store::Connection& c, const std::string& sealed);
    // The credential set; on failure to open, marks the connection broken and returns the error.
    core::Result<core::Secret> Open(const store::Connection& c);

  private:
    store::Store& store_;
    vault::Vault& vault_;
};

}  // namespace switchboard::connections
