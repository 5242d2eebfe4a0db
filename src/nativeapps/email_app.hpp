#pragma once
// The Email app (apps/email.json, docs/apps/email.md): connection types email-imap and email-smtp, modules
// watchEmails, markAsRead, markAsUnread, moveEmail and sendEmail, on the mail library (docs/email.md).
// The pieces below are public for the unit tests; the engine reaches the app through RegisterEmailModules.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "engine/module.hpp"
#include "http_client/sanitizer.hpp"
#include "mail/email.hpp"
#include "mail/imap.hpp"
#include "mail/settings.hpp"
#include "nativeapps/native_apps.hpp"

namespace switchboard::nativeapps {

inline constexpr std::string_view kImapType = "email-imap";
inline constexpr std::string_view kSmtpType = "email-smtp";

// A connection's stored fields (host, port, security tls|starttls|none, username, password, verifyCertificate) as
// mail settings with the options' SSRF policy and timeouts. kInvalidArgument naming the field when one is missing
// or wrong.
core::Result<mail::ServerSettings> MailSettings(const boost::json::object& parameters,
                                                const NativeAppsOptions& options);

// Where watchEmails stands, stored with the run as ModuleOutcome::cursor:
// {"folder": "INBOX", "uidvalidity": 1700000000, "lastUid": 42}.
struct EmailCursor {
    std::string folder;
    mail::Cursor cursor;
};
std::string EncodeEmailCursor(const EmailCursor& cursor);
// nullopt for text that is not such a cursor (then the watch starts as on its first run).
std::optional<EmailCursor> DecodeEmailCursor(std::string_view text);

// The output bundle of one listed email (fields in docs/apps/email.md); attachment bytes are base64.
boost::json::object EmailBundle(const mail::ListedEmail& listed, const std::string& folder);

// Recipients as users give them: an array of addresses ("a@x.com", "Jane <j@x.com>", {"name", "address"}) or one
// text of comma- or semicolon-separated addresses; null or "" is none. kInvalidArgument naming the bad entry.
core::Result<std::vector<mail::Address>> AddressesOf(const boost::json::value& value, std::string_view field);
// [{fileName, data (base64), contentType}] from earlier modules (watchEmails' attachments fit as they are).
core::Result<std::vector<mail::OutgoingAttachment>> AttachmentsOf(const boost::json::value& value);

// A mail library error as Make's error type: login refused → AccountValidationError, unreachable →
// ConnectionError (ModuleTimeoutError for timeouts), SSRF refusal → InvalidConfigurationError, bad input →
// BundleValidationError, a refused command/recipient or a missing folder/message → DataError. The message is
// masked by the sanitizer.
engine::Failure MailFailure(const core::Error& error, const http_client::Sanitizer* sanitizer);

void RegisterEmailModules(engine::ModuleRegistry& registry, const NativeAppsOptions& options);

}  // namespace switchboard::nativeapps
