#pragma once
// Plain data of an email message: what ParseMessage() reads out of one and ComposeMessage() writes.
// All text is UTF-8: encoded words (RFC 2047), encoded parameters (RFC 2231) and body charsets are decoded.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::mail {

struct Address {
    std::string name;     // display name, decoded ("Jürgen Müller"); may be empty
    std::string address;  // addr-spec ("juergen@example.com")

    friend bool operator==(const Address&, const Address&) = default;
};

struct Attachment {
    std::string filename;      // decoded; empty when the part names none
    std::string content_type;  // "type/subtype", lower case, without parameters ("application/pdf")
    std::string content_id;    // without angle brackets; set for inline parts (images of an HTML body)
    bool is_inline = false;    // Content-Disposition: inline (or none) rather than attachment
    std::size_t size = 0;      // decoded bytes
    std::string data;          // the decoded bytes (empty when parsing was asked to leave them out)
};

struct Email {
    std::string message_id;  // without angle brackets
    Address from;            // the first mailbox of From:
    std::vector<Address> to;
    std::vector<Address> cc;
    std::vector<Address> reply_to;
    std::string subject;
    std::string date;  // Date: as ISO 8601 UTC ("2026-11-28T16:57:58.000Z"); empty when missing or unparsable
    std::string text;  // the text/plain body (inline text parts joined), "" when the message has none
    std::string html;  // the text/html body, "" when the message has none
    // Every header in message order, names as written, values unfolded and decoded. Repeated names repeat.
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<Attachment> attachments;
};

// What ComposeMessage() needs for a new message. Bcc recipients go to the SMTP envelope only.
struct OutgoingAttachment {
    std::string filename;                                   // any UTF-8; written RFC 2231-encoded when needed
    std::string content_type = "application/octet-stream";  // "type/subtype"
    std::string data;
};

struct OutgoingEmail {
    Address from;
    std::vector<Address> to;
    std::vector<Address> cc;
    std::vector<Address> bcc;
    std::vector<Address> reply_to;
    std::string subject;
    std::string text;                             // text/plain body; "" = none
    std::string html;                             // text/html body; "" = none (both: multipart/alternative)
    std::vector<OutgoingAttachment> attachments;  // any: multipart/mixed
    // Extra header fields ("X-Campaign", "In-Reply-To", ...). The fields the composer writes itself (From, To,
    // Cc, Bcc, Subject, Date, Message-ID, MIME-Version, Content-*) are refused.
    std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace switchboard::mail
