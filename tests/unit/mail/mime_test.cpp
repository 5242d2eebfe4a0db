#include "mail/mime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <thread>

namespace switchboard::mail {

void PrintTo(const Address& a, std::ostream* os) { *os << '"' << a.name << "\" <" << a.address << '>'; }

namespace {

// Test messages are written with LF line ends and sent through CRLF() so both conventions are exercised.
std::string CRLF(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

std::string Header(const Email& email, std::string_view name) {
    for (const auto& [n, v] : email.headers) {
        if (n == name) return v;
    }
    return "<missing>";
}

constexpr std::string_view kPdfBytes("%PDF-1.4 fake\n\x00\x01\x02\xff", 18);

TEST(ParseMessage, DecodesEncodedWordsAddressesDateAndHeaders) {
    const std::string raw = CRLF(
        "Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\n"
        "Received: from c.example by a.example; Mon, 1 Jan 2024 00:00:00 +0000\n"
        "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.com>\n"
        "To: Anna <anna@example.com>, bob@example.com\n"
        "Cc: =?ISO-8859-1?Q?Fran=E7ois?= <francois@example.fr>\n"
        "Reply-To: replies@example.com\n"
        "Subject: =?UTF-8?B?UHLDvGZ1bmcg4oCUIOaXpeacrA==?=\n"
        " =?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=\n"
        "Date: Tue, 28 Nov 2026 17:57:58 +0100\n"
        "Message-ID: <abc.123@example.com>\n"
        "X-Custom: =?UTF-8?Q?caf=C3=A9?=\n"
        "\n"
        "Hello\n");
    auto email = ParseMessage(raw);
    ASSERT_TRUE(email.has_value());
    EXPECT_EQ(email->from, (Address{"Jürgen Müller", "juergen@example.com"}));
    EXPECT_EQ(email->to, (std::vector<Address>{{"Anna", "anna@example.com"}, {"", "bob@example.com"}}));
    EXPECT_EQ(email->cc, (std::vector<Address>{{"François", "francois@example.fr"}}));
    EXPECT_EQ(email->reply_to, (std::vector<Address>{{"", "replies@example.com"}}));
    EXPECT_EQ(email->subject, "Prüfung — 日本日本");
    EXPECT_EQ(email->date, "2026-11-28T16:57:58.000Z");
    EXPECT_EQ(email->message_id, "abc.123@example.com");
    EXPECT_EQ(email->text, "Hello\r\n");
    EXPECT_EQ(email->html, "");
    EXPECT_TRUE(email->attachments.empty());
    EXPECT_EQ(Header(*email, "X-Custom"), "café");
    ASSERT_GE(email->headers.size(), 2u);
    EXPECT_EQ(email->headers[0].first, "Received");
    EXPECT_EQ(email->headers[1].first, "Received");
    EXPECT_NE(email->headers[0].second, email->headers[1].second);
}

TEST(ParseMessage, AlternativeBodiesInTheirCharsets) {
    const std::string raw = CRLF(
        "From: a@example.com\n"
        "Subject: bodies\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"b1\"\n"
        "\n"
        "--b1\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Gr=FC=DFe aus K=F6ln\n"
        "--b1\n"
        "Content-Type: text/html; charset=\"utf-8\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "PHA+R3LDvMOfZTwvcD4=\n"
        "--b1--\n");
    auto email = ParseMessage(raw);
    ASSERT_TRUE(email.has_value());
    // The line break before a boundary belongs to the boundary (RFC 2046).
    EXPECT_EQ(email->text, "Grüße aus Köln");
    EXPECT_EQ(email->html, "<p>Grüße</p>");
    EXPECT_TRUE(email->attachments.empty());
}

TEST(ParseMessage, AttachmentsWithEncodedNamesInlineImagesAndForwardedMessages) {
    const std::string raw = CRLF(
        "From: a@example.com\n"
        "Subject: files\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\n"
        "\n"
        "preamble\n"
        "--outer\n"
        "Content-Type: multipart/related; boundary=\"rel\"\n"
        "\n"
        "--rel\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        "<img src=\"cid:logo@x\">\n"
        "--rel\n"
        "Content-Type: image/png\n"
        "Content-ID: <logo@x>\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "iVBORw0=\n"
        "--rel--\n"
        "--outer\n"
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "JVBERi0xLjQgZmFrZQoAAQL/\n"
        "--outer\n"
        "Content-Type: application/octet-stream; name=\"=?UTF-8?B?csOpc3Vtw6kucGRm?=\"\n"
        "Content-Disposition: attachment; filename=\"=?UTF-8?B?csOpc3Vtw6kucGRm?=\"\n"
        "\n"
        "x\n"
        "--outer\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Disposition: attachment; filename=notes.txt\n"
        "\n"
        "not the body\n"
        "--outer\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "From: inner@example.com\n"
        "Subject: =?UTF-8?Q?Weitergeleitet_=C3=BC?=\n"
        "\n"
        "inner body\n"
        "--outer--\n");
    auto email = ParseMessage(raw);
    ASSERT_TRUE(email.has_value());
    EXPECT_EQ(email->html, "<img src=\"cid:logo@x\">");
    EXPECT_EQ(email->text, "");
    ASSERT_EQ(email->attachments.size(), 5u);

    const auto& logo = email->attachments[0];
    EXPECT_EQ(logo.filename, "");
    EXPECT_EQ(logo.content_type, "image/png");
    EXPECT_EQ(logo.content_id, "logo@x");
    EXPECT_TRUE(logo.is_inline);
    EXPECT_EQ(logo.size, 5u);

    const auto& pdf = email->attachments[1];
    EXPECT_EQ(pdf.filename, "résumé.pdf");
    EXPECT_EQ(pdf.content_type, "application/pdf");
    EXPECT_FALSE(pdf.is_inline);
    EXPECT_EQ(pdf.size, kPdfBytes.size());
    EXPECT_EQ(pdf.data, kPdfBytes);

    EXPECT_EQ(email->attachments[2].filename, "résumé.pdf");  // RFC 2047 inside quotes, as Outlook writes it
    EXPECT_EQ(email->attachments[3].filename, "notes.txt");
    EXPECT_EQ(email->attachments[3].data, "not the body");

    const auto& forwarded = email->attachments[4];
    EXPECT_EQ(forwarded.content_type, "message/rfc822");
    EXPECT_EQ(forwarded.filename, "Weitergeleitet ü.eml");
    EXPECT_NE(forwarded.data.find("inner body"), std::string::npos);
    EXPECT_EQ(forwarded.size, forwarded.data.size());

    auto listed = ParseMessage(raw, ParseOptions{.include_attachment_data = false});
    ASSERT_TRUE(listed.has_value());
    EXPECT_EQ(listed->attachments[1].size, kPdfBytes.size());
    EXPECT_TRUE(listed->attachments[1].data.empty());
}

TEST(ParseMessage, UndeclaredOrLyingCharsetsStillGiveValidUtf8) {
    // 8-bit body without a charset: Windows-1252, as mail clients read it.
    auto legacy = ParseMessage(
        "From: a@example.com\r\nSubject: x\r\n\r\nGr\xfc\xdf"
        "e \x80\r\n");
    ASSERT_TRUE(legacy.has_value());
    EXPECT_EQ(legacy->text, "Grüße €\r\n");

    // Declared UTF-8 but not: the conversion drops the invalid byte; raw 8-bit header bytes end up valid too.
    auto lying = ParseMessage(
        "From: a@example.com\r\nSubject: caf\xe9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbad \xff byte\r\n");
    ASSERT_TRUE(lying.has_value());
    EXPECT_EQ(lying->text, "bad  byte\r\n");
    EXPECT_EQ(lying->subject, "café");  // GMime's fallback charsets: UTF-8, then ISO-8859-1
}

TEST(ParseMessage, GroupsAreFlattenedAndMissingFieldsAreEmpty) {
    auto email =
        ParseMessage("To: Team: a@example.com, B <b@example.com>;, undisclosed-recipients:;\r\nSubject: s\r\n\r\nbody");
    ASSERT_TRUE(email.has_value());
    EXPECT_EQ(email->to, (std::vector<Address>{{"", "a@example.com"}, {"B", "b@example.com"}}));
    EXPECT_EQ(email->from, Address{});
    EXPECT_EQ(email->date, "");
    EXPECT_EQ(email->message_id, "");

    auto bad_date = ParseMessage("Date: yesterday-ish\r\n\r\nx");
    ASSERT_TRUE(bad_date.has_value());
    EXPECT_EQ(bad_date->date, "");
}

TEST(ParseMessage, RefusesEmptyAndOversizedInput) {
    auto empty = ParseMessage("");
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().code, core::Errc::kInvalidArgument);

    auto big = ParseMessage(std::string(2048, 'x'), ParseOptions{.max_bytes = 1024});
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error().code, core::Errc::kPayloadTooLarge);
}

// --- composition -----------------------------------------------------------------------------------------------

OutgoingEmail FullEmail() {
    OutgoingEmail email;
    email.from = {"Jürgen Müller", "juergen@example.com"};
    email.to = {{"Anna", "anna@example.com"}, {"", "bob@example.com"}};
    email.cc = {{"François", "francois@example.fr"}};
    email.bcc = {{"", "hidden@example.com"}};
    email.reply_to = {{"", "replies@example.com"}};
    email.subject = "Prüfung — 日本";
    email.text = "Hallo Anna,\nanbei der Lebenslauf.\n\n-- \nJürgen";
    email.html = "<p>Hallo Anna,</p><p>anbei der Lebenslauf.</p>";
    email.attachments = {{"résumé.pdf", "application/pdf", std::string(kPdfBytes)},
                         {"data.csv", "text/csv", "a,b\n1,2\n"}};
    email.headers = {{"X-Campaign", "Frühling"}, {"In-Reply-To", "<prev@example.com>"}};
    return email;
}

ComposeOptions FixedOptions() {
    ComposeOptions options;
    options.date = std::chrono::system_clock::time_point(std::chrono::seconds(1795885078));  // 2026-11-28T16:57:58Z
    options.message_id = "fixed.1@example.com";
    return options;
}

TEST(ComposeMessage, RoundTripsThroughTheParser) {
    auto raw = ComposeMessage(FullEmail(), FixedOptions());
    ASSERT_TRUE(raw.has_value()) << raw.error().detail;

    auto parsed = ParseMessage(*raw);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->from, (Address{"Jürgen Müller", "juergen@example.com"}));
    EXPECT_EQ(parsed->to, FullEmail().to);
    EXPECT_EQ(parsed->cc, FullEmail().cc);
    EXPECT_EQ(parsed->reply_to, FullEmail().reply_to);
    EXPECT_EQ(parsed->subject, "Prüfung — 日本");
    EXPECT_EQ(parsed->date, "2026-11-28T16:57:58.000Z");
    EXPECT_EQ(parsed->message_id, "fixed.1@example.com");
    EXPECT_EQ(parsed->text, "Hallo Anna,\r\nanbei der Lebenslauf.\r\n\r\n-- \r\nJürgen");
    EXPECT_EQ(parsed->html, "<p>Hallo Anna,</p><p>anbei der Lebenslauf.</p>");
    EXPECT_EQ(Header(*parsed, "X-Campaign"), "Frühling");
    EXPECT_EQ(Header(*parsed, "In-Reply-To"), "<prev@example.com>");
    EXPECT_EQ(Header(*parsed, "Bcc"), "<missing>");
    ASSERT_EQ(parsed->attachments.size(), 2u);
    EXPECT_EQ(parsed->attachments[0].filename, "résumé.pdf");
    EXPECT_EQ(parsed->attachments[0].content_type, "application/pdf");
    EXPECT_EQ(parsed->attachments[0].data, kPdfBytes);
    EXPECT_FALSE(parsed->attachments[0].is_inline);
    EXPECT_EQ(parsed->attachments[1].filename, "data.csv");
    EXPECT_EQ(parsed->attachments[1].data, "a,b\n1,2\n");  // base64 keeps attachment bytes exact
}

TEST(ComposeMessage, WritesSevenBitCrlfWithEncodedHeadersAndTheRightStructure) {
    auto raw = ComposeMessage(FullEmail(), FixedOptions());
    ASSERT_TRUE(raw.has_value());
    EXPECT_TRUE(std::all_of(raw->begin(), raw->end(), [](unsigned char c) { return c < 0x80; }))
        << "non-ASCII byte in the composed message";
    for (std::size_t i = 0; i < raw->size(); ++i) {
        if ((*raw)[i] == '\n') {
            ASSERT_TRUE(i > 0 && (*raw)[i - 1] == '\r') << "bare LF at byte " << i;
        }
    }
    const std::string headers = raw->substr(0, raw->find("\r\n\r\n"));
    EXPECT_TRUE(std::regex_search(headers, std::regex("\r\nSubject: =\\?(utf-8|UTF-8)\\?[bBqQ]\\?")));
    EXPECT_NE(headers.find("Date: Sat, 28 Nov 2026 16:57:58 +0000"), std::string::npos) << headers;
    EXPECT_NE(headers.find("Message-Id: <fixed.1@example.com>"), std::string::npos) << headers;
    EXPECT_NE(headers.find("MIME-Version: 1.0"), std::string::npos);
    EXPECT_NE(headers.find("Content-Type: multipart/mixed"), std::string::npos);
    EXPECT_EQ(headers.find("hidden@example.com"), std::string::npos);
    EXPECT_NE(raw->find("Content-Type: multipart/alternative"), std::string::npos);
    // RFC 2231 in the charset GMime finds best for the name.
    EXPECT_TRUE(std::regex_search(*raw, std::regex("filename\\*=iso-8859-1''r%E9sum%E9\\.pdf")));
}

TEST(ComposeMessage, ChoosesTheSimplestStructure) {
    OutgoingEmail email;
    email.from = {"", "a@example.com"};
    email.to = {{"", "b@example.com"}};
    email.subject = "plain";
    email.text = "just text";
    auto text_only = ComposeMessage(email);
    ASSERT_TRUE(text_only.has_value());
    EXPECT_NE(text_only->find("Content-Type: text/plain"), std::string::npos);
    EXPECT_EQ(text_only->find("multipart"), std::string::npos);
    // Without options: a Date and a random Message-ID at the sender's domain.
    EXPECT_TRUE(std::regex_search(*text_only, std::regex("(^|\r\n)Date: ")));
    EXPECT_TRUE(std::regex_search(*text_only, std::regex("Message-Id: <[0-9a-f]{32}@example\\.com>")));

    email.text.clear();
    email.html = "<b>only html</b>";
    auto html_only = ComposeMessage(email);
    ASSERT_TRUE(html_only.has_value());
    EXPECT_NE(html_only->find("Content-Type: text/html"), std::string::npos);
    EXPECT_EQ(html_only->find("multipart"), std::string::npos);
    EXPECT_EQ(ParseMessage(*html_only)->html, "<b>only html</b>\r\n");  // a single part ends with a line break

    email.html.clear();
    auto empty_body = ComposeMessage(email);
    ASSERT_TRUE(empty_body.has_value());
    EXPECT_EQ(ParseMessage(*empty_body)->text, "");
}

TEST(ComposeMessage, LineBreaksCannotInjectHeaders) {
    OutgoingEmail email;
    email.from = {"Eve\r\nBcc: victim@example.com", "eve@example.com"};
    email.to = {{"", "b@example.com"}};
    email.subject = "hello\r\nBcc: victim@example.com";
    auto raw = ComposeMessage(email);
    ASSERT_TRUE(raw.has_value());
    auto parsed = ParseMessage(*raw);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->subject, "hello Bcc: victim@example.com");
    EXPECT_EQ(parsed->from.name, "Eve Bcc: victim@example.com");
    EXPECT_EQ(Header(*parsed, "Bcc"), "<missing>");
}

struct InvalidCase {
    std::string name;
    OutgoingEmail email;
};

TEST(ComposeMessage, RefusesWhatCannotBeSent) {
    auto base = [] {
        OutgoingEmail email;
        email.from = {"", "a@example.com"};
        email.to = {{"", "b@example.com"}};
        return email;
    };
    std::vector<InvalidCase> cases;
    cases.push_back({"no from", base()});
    cases.back().email.from.address = "";
    cases.push_back({"from without domain", base()});
    cases.back().email.from.address = "a@";
    cases.push_back({"no recipient", base()});
    cases.back().email.to.clear();
    cases.push_back({"to with angle brackets", base()});
    cases.back().email.to = {{"", "<b@example.com>"}};
    cases.push_back({"cc with a space", base()});
    cases.back().email.cc = {{"", "b @example.com"}};
    cases.push_back({"bcc with a line break", base()});
    cases.back().email.bcc = {{"", "b@example.com\r\nX: y"}};
    cases.push_back({"composer header", base()});
    cases.back().email.headers = {{"Content-Type", "text/html"}};
    cases.push_back({"header name with colon", base()});
    cases.back().email.headers = {{"X-A:b", "c"}};
    cases.push_back({"header value with line break", base()});
    cases.back().email.headers = {{"X-A", "b\r\nBcc: c@example.com"}};
    for (const auto& c : cases) {
        auto raw = ComposeMessage(c.email);
        ASSERT_FALSE(raw.has_value()) << c.name;
        EXPECT_EQ(raw.error().code, core::Errc::kInvalidArgument) << c.name;
    }
    auto only_bcc = base();
    only_bcc.to.clear();
    only_bcc.bcc = {{"", "b@example.com"}};
    EXPECT_TRUE(ComposeMessage(only_bcc).has_value());
}

TEST(Envelope, RecipientsInOrderWithoutDuplicates) {
    OutgoingEmail email;
    email.to = {{"", "a@example.com"}, {"", "B@example.com"}};
    email.cc = {{"", "b@example.com"}, {"", "c@example.com"}};
    email.bcc = {{"", "d@example.com"}, {"", "A@EXAMPLE.COM"}};
    EXPECT_EQ(EnvelopeRecipients(email),
              (std::vector<std::string>{"a@example.com", "B@example.com", "c@example.com", "d@example.com"}));
}

TEST(AddressList, ParsesWhatUsersType) {
    auto list = ParseAddressList("Jane Doe <jane@example.com>, bob@example.com; \"Müller, Jürgen\" <j@example.de>");
    ASSERT_TRUE(list.has_value());
    EXPECT_EQ(*list,
              (std::vector<Address>{
                  {"Jane Doe", "jane@example.com"}, {"", "bob@example.com"}, {"Müller, Jürgen", "j@example.de"}}));
    EXPECT_TRUE(ParseAddressList("  ").value().empty());
    EXPECT_FALSE(ParseAddressList("not an address").has_value());
    EXPECT_FALSE(ParseAddressList("a@example.com, nobody").has_value());
}

TEST(MessageId, RandomAtTheSendersDomain) {
    const std::string a = NewMessageId("x@mail.example.org");
    const std::string b = NewMessageId("x@mail.example.org");
    EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{32}@mail\\.example\\.org")));
    EXPECT_NE(a, b);
}

TEST(Mime, ConcurrentParsingAndComposingOnFreshThreads) {
    // GMime is initialised by whichever call comes first; every thread must see a working library.
    std::vector<std::thread> threads;
    std::vector<int> ok(8, 0);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            for (int k = 0; k < 20; ++k) {
                auto raw = ComposeMessage(FullEmail(), FixedOptions());
                if (!raw) return;
                auto parsed = ParseMessage(*raw);
                if (!parsed || parsed->subject != "Prüfung — 日本") return;
            }
            ok[static_cast<std::size_t>(i)] = 1;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(std::count(ok.begin(), ok.end(), 1), 8);
}

}  // namespace
}  // namespace switchboard::mail
