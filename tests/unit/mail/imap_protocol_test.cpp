#include "mail/imap_protocol.hpp"

#include <gtest/gtest.h>

namespace switchboard::mail::imap_protocol {
namespace {

TEST(ImapQuote, EscapesQuotesAndBackslashesAndRefusesLineBreaks) {
    EXPECT_EQ(Quote("INBOX").value(), "\"INBOX\"");
    EXPECT_EQ(Quote(R"(a "b" \c)").value(), R"("a \"b\" \\c")");
    EXPECT_EQ(Quote("Jürgen").value(), "\"Jürgen\"");
    EXPECT_FALSE(Quote("a\r\nb").has_value());
    EXPECT_FALSE(Quote(std::string("a\0b", 3)).has_value());
}

struct MailboxCase {
    std::string utf8;
    std::string encoded;
};

TEST(ImapMailboxName, ModifiedUtf7AsInRfc3501) {
    const MailboxCase cases[] = {
        {"INBOX", "INBOX"},
        {"Archive/2024", "Archive/2024"},
        {"Tom & Jerry", "Tom &- Jerry"},
        {"Entwürfe", "Entw&APw-rfe"},
        {"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
        {"😀", "&2D3eAA-"},
        {"Ünïcödé", "&ANw-n&AO8-c&APY-d&AOk-"},
    };
    for (const auto& c : cases) EXPECT_EQ(EncodeMailboxName(c.utf8).value(), c.encoded) << c.utf8;
    EXPECT_FALSE(EncodeMailboxName("bad\xff").has_value());
    EXPECT_FALSE(EncodeMailboxName("\xc3").has_value());          // truncated sequence
    EXPECT_FALSE(EncodeMailboxName("\xc0\xaf").has_value());      // overlong "/"
    EXPECT_FALSE(EncodeMailboxName("a\nb").has_value());          // control character
    EXPECT_FALSE(EncodeMailboxName("\xed\xa0\x80").has_value());  // UTF-16 surrogate in UTF-8
}

TEST(ImapSequenceSet, CompressesRuns) {
    EXPECT_EQ(SequenceSet({}), "");
    EXPECT_EQ(SequenceSet({5}), "5");
    EXPECT_EQ(SequenceSet({1, 2, 3, 7, 9, 10}), "1:3,7,9:10");
    EXPECT_EQ(SequenceSet({4294967294u, 4294967295u}), "4294967294:4294967295");
}

TEST(ImapMailboxStatus, ReadsSelectThenExamineAsDovecotSendsThem) {
    const Lines lines = {
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.",
        "A002 OK Logged in",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
        "* 1 EXISTS",
        "* 1 RECENT",
        "* OK [UIDVALIDITY 1795895588] UIDs valid",
        "* OK [UIDNEXT 2] Predicted next UID",
        "A003 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).",
        "* OK [CLOSED] Previous mailbox closed.",
        "* 3 EXISTS",
        "* 0 RECENT",
        "* OK [UIDVALIDITY 1795895589] UIDs valid",
        "* OK [UIDNEXT 17] Predicted next UID",
        "A004 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).",
    };
    const auto status = ParseMailboxStatus(lines);
    EXPECT_EQ(status.uidvalidity, 1795895589u);
    EXPECT_EQ(status.uidnext, 17u);
    EXPECT_EQ(status.exists, 3u);
    EXPECT_TRUE(status.read_only);
    EXPECT_FALSE(status.read_write);

    const auto empty = ParseMailboxStatus({"A001 OK Fetch completed."});
    EXPECT_FALSE(empty.uidvalidity.has_value());
    EXPECT_FALSE(empty.read_only);
    EXPECT_FALSE(empty.read_write);
}

TEST(ImapSearch, ParsesSearchAndEsearchAndSkipsTheRest) {
    EXPECT_EQ(ParseSearch({"* SEARCH 9 4 7", "A5 OK Search completed"}), (std::vector<std::uint32_t>{4, 7, 9}));
    EXPECT_TRUE(ParseSearch({"* SEARCH", "A5 OK Search completed"}).empty());
    EXPECT_EQ(ParseSearch({"* search 3 (MODSEQ 917162500)"}), (std::vector<std::uint32_t>{3}));
    EXPECT_EQ(ParseSearch({"* 12 EXISTS", "* SEARCH 2 3", "* SEARCH 3 5"}), (std::vector<std::uint32_t>{2, 3, 5}));
    EXPECT_EQ(ParseSearch({"* ESEARCH (TAG \"A005\") UID MIN 42"}), (std::vector<std::uint32_t>{42}));
    EXPECT_EQ(ParseSearch({"* ESEARCH (TAG \"A5\") UID ALL 1:3,7,9:10"}),
              (std::vector<std::uint32_t>{1, 2, 3, 7, 9, 10}));
    EXPECT_TRUE(ParseSearch({"* ESEARCH (TAG \"A005\") UID"}).empty());
    EXPECT_TRUE(ParseSearch({"* SEARCH x y"}).empty());
}

TEST(ImapFetchFlags, ReadsUidFlagsAndSizeInAnyOrder) {
    const auto fetched = ParseFetchFlags({
        "* 1 FETCH (UID 5 FLAGS (\\Seen $Forwarded) RFC822.SIZE 1234)",
        "* 2 FETCH (FLAGS () UID 6 RFC822.SIZE 99)",
        "* 3 FETCH (FLAGS (\\Seen))",  // an unsolicited flag update names no UID
        "* 4 EXPUNGE",
        "A7 OK Fetch completed.",
    });
    ASSERT_EQ(fetched.size(), 2u);
    EXPECT_EQ(fetched[0].uid, 5u);
    EXPECT_EQ(fetched[0].flags, (std::vector<std::string>{"\\Seen", "$Forwarded"}));
    EXPECT_EQ(fetched[0].size, 1234u);
    EXPECT_EQ(fetched[1].uid, 6u);
    EXPECT_TRUE(fetched[1].flags.empty());
    EXPECT_EQ(fetched[1].size, 99u);
}

TEST(ImapCapabilities, TheLastListWins) {
    const auto caps = ParseCapabilities({
        "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready",
        "A001 OK Pre-login capabilities listed",
        "* CAPABILITY IMAP4rev1 UIDPLUS move ESEARCH",
        "A002 OK Logged in",
    });
    EXPECT_EQ(caps, (std::set<std::string>{"IMAP4REV1", "UIDPLUS", "MOVE", "ESEARCH"}));
    EXPECT_EQ(ParseCapabilities({"A1 OK [CAPABILITY IMAP4rev1 MOVE] Logged in"}),
              (std::set<std::string>{"IMAP4REV1", "MOVE"}));
}

TEST(ImapRefusal, TaggedNoOrBadElseUntaggedBye) {
    EXPECT_EQ(LastRefusal({"A001 OK Pre-login", "A002 NO [AUTHENTICATIONFAILED] Authentication failed."}),
              "[AUTHENTICATIONFAILED] Authentication failed.");
    EXPECT_EQ(LastRefusal({"B003 NO Mailbox doesn't exist: Nope (0.001 + 0.000 secs).", "* BYE Logging out",
                           "B004 OK Logout completed"}),
              "Mailbox doesn't exist: Nope (0.001 + 0.000 secs).");
    EXPECT_EQ(LastRefusal({"* BYE Disconnected for inactivity."}), "Disconnected for inactivity.");
    EXPECT_EQ(LastRefusal({"A1 BAD Error in IMAP command"}), "Error in IMAP command");
    EXPECT_EQ(LastRefusal({"A1 OK done", "* 1 EXISTS"}), "");
}

}  // namespace
}  // namespace switchboard::mail::imap_protocol
