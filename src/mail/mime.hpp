#pragma once
// MIME on GMime 3: parse a raw RFC 5322 message into an Email, compose an OutgoingEmail into raw bytes.
// Pure functions (no I/O). GMime is initialised once, on first use, thread-safely; after that every call works on
// its own objects, so calls may run concurrently on any threads.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "mail/email.hpp"

namespace switchboard::mail {

struct ParseOptions {
    // false: attachments keep their name, type and size but not their bytes (listing without the payload).
    bool include_attachment_data = true;
    // Larger input is refused with kPayloadTooLarge before GMime sees it.
    std::size_t max_bytes = 64 * 1024 * 1024;
};

// Never fails on malformed content: GMime is lenient, and every string comes out as valid UTF-8 (bytes invalid
// in their declared charset are dropped by the conversion or become U+FFFD; 8-bit text without a declared
// charset is read as Windows-1252). Errors: kInvalidArgument for empty input, kPayloadTooLarge over max_bytes.
core::Result<Email> ParseMessage(std::string_view raw, const ParseOptions& options = {});

struct ComposeOptions {
    // Date: header; nullopt = now.
    std::optional<std::chrono::system_clock::time_point> date;
    // Message-ID without angle brackets; empty = 32 random hex digits @ the From address's domain.
    std::string message_id;
};

// Raw RFC 5322 bytes with CRLF line ends: From/To/Cc/Reply-To (display names RFC 2047-encoded when not ASCII),
// Subject (RFC 2047 when not ASCII), Date, Message-ID, MIME-Version; the body is text/plain, text/html,
// multipart/alternative of both, wrapped in multipart/mixed with the attachments (base64, filename per RFC
// 2231). No Bcc header. Errors (kInvalidArgument): no From address, no recipient at all, an address that is not
// user@domain, a header name that is not a token or that the composer writes itself, CR/LF in a header value.
core::Result<std::string> ComposeMessage(const OutgoingEmail& email, const ComposeOptions& options = {});

// 32 random hex digits @ the domain of from_address (without angle brackets).
std::string NewMessageId(std::string_view from_address);

// To + Cc + Bcc addresses for the SMTP envelope, in that order, without duplicates (compared case-insensitively).
std::vector<std::string> EnvelopeRecipients(const OutgoingEmail& email);

// Parses an address list as users type it ("Jane <jane@example.com>, bob@example.com"; ';' separates too when
// the text holds no group); groups are flattened.
// kInvalidArgument when an entry is not a mailbox with user@domain.
core::Result<std::vector<Address>> ParseAddressList(std::string_view text);

}  // namespace switchboard::mail
