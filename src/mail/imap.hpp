#pragma once
// IMAP on libcurl: verify a login, list the new messages of a folder since a cursor, mark one read or unread, move
// one to another folder. Each call opens one connection, logs in once, runs its commands and closes it; each
// blocks the calling thread (bounded by the settings' timeouts), so callers run it on a worker thread.
//
// Errors (core::Error, the detail never contains the password; server texts are quoted as the server wrote them):
//   kUnauthenticated   the server refused the login ("[AUTHENTICATIONFAILED] Authentication failed.")
//   kUnavailable       DNS, connect, timeout, TLS handshake or certificate failures, no STARTTLS offered
//   kPermissionDenied  the SSRF policy refused the address (loopback/private without allow_private_network)
//   kNotFound          the folder or the message does not exist (anymore), or the folder's UIDVALIDITY changed
//   kInvalidArgument   bad input (empty folder name, a line break in a search text, max_results 0)
//   kUpstreamError     the server refused a command or answered something unusable (its text in the detail)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "mail/email.hpp"
#include "mail/settings.hpp"

namespace switchboard::mail {

// Where a watch stands in a folder: the folder's UIDVALIDITY and the highest UID already handled. UIDs only grow
// within one UIDVALIDITY, so "UID > last_uid" is exactly the set of messages not yet handled. When the server
// reports another UIDVALIDITY (the folder was recreated or the server rebuilt its index), the old UIDs mean
// nothing: the cursor restarts at 0 and every message of the folder counts as new (reported by
// ListResult::uidvalidity_changed). {0, 0} means "from the oldest message".
struct Cursor {
    std::uint32_t uidvalidity = 0;
    std::uint32_t last_uid = 0;

    friend bool operator==(const Cursor&, const Cursor&) = default;
};

enum class ReadFilter { kAll, kUnread, kRead };

struct SearchCriteria {
    ReadFilter read = ReadFilter::kAll;
    std::string from_contains;     // substring of the From header (name or address), server-side; "" = any
    std::string subject_contains;  // substring of the decoded subject, server-side; "" = any
};

struct ListOptions {
    std::size_t max_results = 10;  // at least 1; the oldest new messages first
    // A message larger than this is listed with its headers only (ListedEmail::truncated).
    std::size_t max_message_bytes = 25 * 1024 * 1024;
    bool include_attachment_data = true;
    // UIDs per SEARCH command when the folder holds more messages than this (keeps each response line bounded).
    std::uint32_t search_window = 10'000;
};

struct ListedEmail {
    std::uint32_t uid = 0;
    std::vector<std::string> flags;  // as the server sent them ("\\Seen", "\\Flagged", "$Label1")
    bool seen = false;
    std::size_t size = 0;    // RFC822.SIZE
    bool truncated = false;  // over max_message_bytes: headers only, no body or attachments
    Email email;
};

struct ListResult {
    std::vector<ListedEmail> emails;  // ascending UID = arrival order
    Cursor cursor;                    // to store and pass to the next call
    bool more = false;                // max_results cut the list: call again with the new cursor
    bool uidvalidity_changed = false;
};

// Logs in and SELECTs INBOX.
core::Result<void> VerifyImap(const ServerSettings& settings);

// The cursor at the folder's current end: a watch that starts "from now on" stores this and lists nothing old.
core::Result<Cursor> CurrentCursor(const ServerSettings& settings, const std::string& folder);

// Messages of `folder` (UTF-8 name, "INBOX" for the inbox) with UID > cursor.last_uid that match `criteria`, oldest
// first, at most options.max_results, each fetched whole and parsed. Read-only: the folder is opened with EXAMINE,
// so fetching sets no \Seen flag. The returned cursor covers every message handled: the listed ones and, when
// the list was not cut, everything the server had assigned a UID to when the folder was opened (messages that do
// not match the criteria are not looked at again).
core::Result<ListResult> ListNew(const ServerSettings& settings, const std::string& folder,
                                 const SearchCriteria& criteria, const Cursor& cursor, const ListOptions& options = {});

// One message. uidvalidity 0 skips the check; otherwise a folder whose UIDVALIDITY differs gives kNotFound (the
// UID may now name another message).
struct MessageRef {
    std::string folder = "INBOX";
    std::uint32_t uid = 0;
    std::uint32_t uidvalidity = 0;
};

// Sets or clears \Seen. kNotFound when the message does not exist.
core::Result<void> MarkSeen(const ServerSettings& settings, const MessageRef& message, bool seen);

// Moves the message to `to_folder` (UTF-8): UID MOVE (RFC 6851) when the server offers it, else UID COPY, then
// \Deleted and UID EXPUNGE of just that message (plain EXPUNGE when the server lacks UIDPLUS, which also
// removes other messages already flagged \Deleted in the folder). kNotFound when the message or the target
// folder does not exist.
core::Result<void> Move(const ServerSettings& settings, const MessageRef& message, const std::string& to_folder);

}  // namespace switchboard::mail
