#include "connections/credential_store.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "request_spec/request_spec.hpp"

namespace switchboard::connections {

using core::Result;

void CollectCredentialSecrets(const catalog::ConnectionType& type, const boost::json::object& parameters,
                              const boost::json::object& data, std::vector<core::Secret>& out) {
    for (const auto& p : type.parameters) {
        if (!p.IsSecret()) continue;
        if (const auto* v = parameters.if_contains(p.name)) request_spec::CollectSecrets(*v, out);
    }
    request_spec::CollectSecrets(data, out);
    request_spec::CollectSecrets(type.common, out);
}

std::string CredentialJson(const boost::json::object& parameters, const boost::json::object& data) {
    return boost::json::serialize(boost::json::object{{"parameters", parameters}, {"data", data}});
}

Result<CredentialSet> ParseCredentialSet(const core::Secret& secret) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(secret.Reveal(), ec);
    if (ec || !v.is_object()) return core::Internal("stored credential set is not a JSON object");
    CredentialSet out;
    if (auto* p = v.as_object().if_contains("parameters"); p && p->is_object()) out.parameters = p->as_object();
    if (auto* d = v.as_object().if_contains("data"); d && d->is_object()) out.data = d->as_object();
    return out;
}

Result<store::Connection> CredentialStore::Create(const store::Connection& row, const core::Secret& data) {
    // The row and its sealed data are written in one transaction: no reader ever sees it half-made.
    return store_.CreateConnection(row, [&](core::ConnectionId id, std::int64_t version) {
        return vault_.Seal({row.team_id, id, version}, data);
    });
}

Result<store::Connection> CredentialStore::Replace(const store::Connection& current, const core::Secret& data,
                                                   store::ConnectionReplacement replacement) {
    auto sealed = vault_.Seal({current.team_id, current.id, current.version + 1}, data);
    if (!sealed) return sealed.error();
    replacement.sealed = std::move(*sealed);
    return store_.ReplaceConnection(current.team_id, current.id, current.version, replacement);
}

Result<std::string> CredentialStore::SealAside(const store::Connection& c, const core::Secret& value) {
    auto sealed = vault_.Seal({c.team_id, c.id, 0}, value);
    if (!sealed) return sealed.error();
    return sealed->key_id + "." + sealed->wrapped_key + "." + sealed->ciphertext;
}

Result<core::Secret> CredentialStore::OpenAside(const store::Connection& c, const std::string& sealed) {
    const auto a = sealed.find('.');
    const auto b = a == std::string::npos ? a : sealed.find('.', a + 1);
    if (b == std::string::npos) return core::InvalidArgument("malformed sealed value");
    return vault_.Open({c.team_id, c.id, 0},
                       {sealed.substr(0, a), sealed.substr(a + 1, b - a - 1), sealed.substr(b + 1)});
}

Result<core::Secret> CredentialStore::Open(const store::Connection& c) {
    auto opened = vault_.Open({c.team_id, c.id, c.version}, c.sealed);
    if (opened) return opened;
    const std::string reason = "credentials cannot be opened: " + opened.error().detail;
    spdlog::error("connection {} of team {} is broken: {}", c.id.value(), c.team_id.value(), reason);
    (void)store_.SetConnectionStatus(c.team_id, c.id, store::ConnectionStatus::kBroken, reason, std::nullopt,
                                     c.version);
    return opened.error();
}

}  // namespace switchboard::connections
