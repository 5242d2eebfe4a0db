#pragma once
// The IMAP4rev1 (RFC 3501) text that the client writes and reads, without any I/O: quoting, mailbox names in
// modified UTF-7, sequence sets, and parsers for the untagged responses the client relies on. Every parser takes
// the server's response lines (CRLF removed) and skips what it does not recognise: a server may send unsolicited
// responses (EXISTS, EXPUNGE, FETCH of flags changed by another session) at any time.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace switchboard::mail::imap_protocol {

using Lines = std::vector<std::string>;

// A quoted string ("a \"b\""). kInvalidArgument for CR, LF or NUL, which no IMAP string may carry unless sent as
// a literal. Non-ASCII UTF-8 passes through (servers that announce CHARSET UTF-8 searches accept it quoted).
core::Result<std::string> Quote(std::string_view text);

// UTF-8 mailbox name to the modified UTF-7 of RFC 3501 §5.1.3 ("Entwürfe" -> "Entw&APw-rfe"). kInvalidArgument for
// invalid UTF-8 or control characters.
core::Result<std::string> EncodeMailboxName(std::string_view utf8);

// Ascending UIDs as a compact sequence set ("1:3,7,9:10"). The input must be sorted and free of duplicates.
std::string SequenceSet(const std::vector<std::uint32_t>& sorted_uids);

struct MailboxStatus {
    std::optional<std::uint32_t> uidvalidity;
    std::optional<std::uint32_t> uidnext;
    std::optional<std::uint32_t> exists;
    bool read_only = false;   // the last tagged OK said [READ-ONLY]
    bool read_write = false;  // the last tagged OK said [READ-WRITE]
};
// From the responses to SELECT/EXAMINE: "* OK [UIDVALIDITY n]", "* OK [UIDNEXT n]", "* n EXISTS" and the tagged OK's
// [READ-ONLY]/[READ-WRITE]. When several selects are in the lines, the last values win.
MailboxStatus ParseMailboxStatus(const Lines& lines);

// "* SEARCH 4 7 9" and "* ESEARCH (TAG "A1") UID ALL 4,7:9" (ALL, or MIN and MAX). Unsorted, as sent.
std::vector<std::uint32_t> ParseSearch(const Lines& lines);

struct FetchedFlags {
    std::uint32_t uid = 0;
    std::vector<std::string> flags;  // as sent ("\\Seen", "$Forwarded")
    std::uint64_t size = 0;          // RFC822.SIZE, 0 when not sent
};
// "* 3 FETCH (UID 7 FLAGS (\Seen) RFC822.SIZE 1234)"; responses without a UID are skipped (unsolicited flag
// updates carry none).
std::vector<FetchedFlags> ParseFetchFlags(const Lines& lines);

// Upper-cased capability names from "* CAPABILITY ..." and "[CAPABILITY ...]" response codes; the last list wins.
std::set<std::string> ParseCapabilities(const Lines& lines);

// The text of the last tagged NO or BAD response ("[AUTHENTICATIONFAILED] Authentication failed."), or of the last
// untagged BYE/NO/BAD when no tagged one came; "" when neither is present.
std::string LastRefusal(const Lines& lines);

}  // namespace switchboard::mail::imap_protocol
