#pragma once
// SMTP on libcurl: verify a login, send a raw message to envelope recipients, or compose and send an OutgoingEmail.
// Each call opens one connection, authenticates (when the settings name a user), sends and closes it; each
// blocks the calling thread (bounded by the settings' timeouts), so callers run it on a worker thread.
//
// Errors (the detail quotes the server's reply, e.g. "535 5.7.8 Error: authentication failed: ...", and never
// contains the password):
//   kUnauthenticated   the server refused the credentials, or offers no AUTH although a username is set
//   kUnavailable       DNS, connect, timeout, TLS handshake or certificate failures, no STARTTLS offered
//   kPermissionDenied  the SSRF policy refused the address (loopback/private without allow_private_network)
//   kInvalidArgument   no recipient, or an address with a line break or angle bracket
//   kUpstreamError     the server refused the sender, a recipient or the message (its reply in the detail)
#include <string>
#include <vector>

#include "core/error.hpp"
#include "mail/email.hpp"
#include "mail/mime.hpp"
#include "mail/settings.hpp"

namespace switchboard::mail {

// Connects, says EHLO (STARTTLS as the settings say) and authenticates.
core::Result<void> VerifySmtp(const ServerSettings& settings);

struct SendReceipt {
    std::string server_reply;  // the reply to the end of DATA ("250 2.0.0 Ok: queued as 4F1C2B1A")
    std::string message_id;    // SendEmail only: the Message-ID written into the message
};

// MAIL FROM:<envelope_from>, one RCPT TO per recipient (any refused recipient fails the whole send: nothing is
// sent then), DATA with `raw_message` (RFC 5322 bytes with CRLF line ends; libcurl dot-stuffs it).
core::Result<SendReceipt> Send(const ServerSettings& settings, const std::string& envelope_from,
                               const std::vector<std::string>& recipients, const std::string& raw_message);

// ComposeMessage + Send from email.from.address to EnvelopeRecipients(email) (To, Cc and Bcc).
core::Result<SendReceipt> SendEmail(const ServerSettings& settings, const OutgoingEmail& email,
                                    const ComposeOptions& options = {});

}  // namespace switchboard::mail
