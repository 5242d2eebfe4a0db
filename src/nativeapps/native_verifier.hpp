#pragma once
// The connections::Verifier of the server: native connection types (email-imap, email-smtp, postgres) are checked
// here, in C++, by logging in (IMAP: LOGIN + SELECT INBOX; SMTP: EHLO + AUTH; PostgreSQL: connect + SELECT 1);
// every other type goes to the verifier it wraps (the HTTP verifier of the app's `api` request).
//
// A refused login or an unreachable server is a VerifyResult with verified=false and the server's own reason
// (e.g. "[AUTHENTICATIONFAILED] Authentication failed.", "password authentication failed for user …"); the
// password is in no message and no log line. Verify blocks its thread for at most the options' timeouts.
#include "connections/verifier.hpp"
#include "nativeapps/native_apps.hpp"

namespace switchboard::nativeapps {

class NativeVerifier final : public connections::Verifier {
  public:
    // `fallback` must outlive this verifier.
    NativeVerifier(connections::Verifier& fallback, NativeAppsOptions options)
        : fallback_(fallback), options_(options) {}

    bool HasVerifyRequest(const catalog::ConnectionType& type) const override;
    core::Result<connections::VerifyResult> Verify(const catalog::App& app, const catalog::ConnectionType& type,
                                                   const boost::json::object& parameters,
                                                   const boost::json::object& data) override;

  private:
    connections::Verifier& fallback_;
    NativeAppsOptions options_;
};

}  // namespace switchboard::nativeapps
