#include "nativeapps/native_verifier.hpp"

#include <boost/json.hpp>

#include "mail/imap.hpp"
#include "mail/smtp.hpp"
#include "nativeapps/email_app.hpp"
#include "nativeapps/postgres_app.hpp"

namespace switchboard::nativeapps {

namespace json = boost::json;
using connections::VerifyResult;

namespace {

bool IsNativeType(const catalog::ConnectionType& type) {
    return type.native && (type.name == kImapType || type.name == kSmtpType || type.name == kPostgresType);
}

VerifyResult Refused(std::string message) {
    VerifyResult r;
    r.verified = false;
    r.message = std::move(message);
    return r;
}

VerifyResult Verified(json::value metadata) {
    VerifyResult r;
    r.verified = true;
    r.metadata = std::move(metadata);
    return r;
}

VerifyResult VerifyMail(const catalog::ConnectionType& type, const json::object& parameters,
                        const NativeAppsOptions& options) {
    auto settings = MailSettings(parameters, options);
    if (!settings) return Refused(settings.error().detail);
    auto checked = type.name == kImapType ? mail::VerifyImap(*settings) : mail::VerifySmtp(*settings);
    if (!checked) {
        const auto& e = checked.error();
        return Refused(e.detail.empty() ? e.message : e.detail);
    }
    const bool is_address = settings->username.find('@') != std::string::npos;
    return Verified(
        json::object{{"type", is_address ? "email" : "text"},
                     {"value", is_address ? settings->username : settings->username + "@" + settings->host}});
}

VerifyResult VerifyPostgres(const json::object& parameters, const NativeAppsOptions& options) {
    auto settings = PostgresSettings(parameters, options);
    if (!settings) return Refused(settings.error().detail);
    auto conn = PgConnection::Open(*settings);
    if (!conn) return Refused(conn.error().message);
    auto one = (*conn)->Exec("SELECT 1");
    if (!one) return Refused(one.error().message);
    return Verified(json::object{{"type", "text"},
                                 {"value", settings->username + "@" + settings->host + ":" +
                                               std::to_string(settings->port) + "/" + settings->database}});
}

}  // namespace

bool NativeVerifier::HasVerifyRequest(const catalog::ConnectionType& type) const {
    if (IsNativeType(type)) return true;
    // A native type this server does not implement has nothing to ask: it is saved unverified.
    if (type.native) return false;
    return fallback_.HasVerifyRequest(type);
}

core::Result<VerifyResult> NativeVerifier::Verify(const catalog::App& app, const catalog::ConnectionType& type,
                                                  const json::object& parameters, const json::object& data) {
    if (!IsNativeType(type)) return fallback_.Verify(app, type, parameters, data);
    if (type.name == kPostgresType) return VerifyPostgres(parameters, options_);
    return VerifyMail(type, parameters, options_);
}

}  // namespace switchboard::nativeapps
