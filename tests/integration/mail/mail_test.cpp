// The mail library against real servers: Dovecot for IMAP, Postfix for SMTP (AUTH through Dovecot, delivery over
// LMTP into the same mailboxes). Each test works in accounts of its own.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include "mail/imap.hpp"
#include "mail/mime.hpp"
#include "mail/smtp.hpp"
#include "support/mail_servers.hpp"

namespace switchboard::mail {
namespace {

using testing::MailAccount;
using testing::MailServers;
using namespace std::chrono_literals;

ServerSettings ImapSettings(const MailServers& servers, const MailAccount& account,
                            Security security = Security::kNone) {
    ServerSettings s;
    s.host = MailServers::kHost;
    s.security = security;
    s.port = security == Security::kTls ? servers.imaps_port() : servers.imap_port();
    s.username = account.address;
    s.password = core::Secret(account.password);
    s.allow_private_network = true;
    s.connect_timeout = 10s;
    s.timeout = 30s;
    return s;
}

ServerSettings SmtpSettings(const MailServers& servers, const MailAccount& account,
                            Security security = Security::kNone) {
    ServerSettings s = ImapSettings(servers, account, security);
    s.port = security == Security::kTls ? servers.smtps_port() : servers.smtp_port();
    return s;
}

std::string SimpleMessage(const std::string& from, const std::string& subject, const std::string& body = "body") {
    OutgoingEmail email;
    email.from = {"", from};
    email.to = {{"", "someone@example.test"}};
    email.subject = subject;
    email.text = body;
    return ComposeMessage(email).value();
}

std::vector<std::string> Subjects(const ListResult& result) {
    std::vector<std::string> out;
    for (const auto& e : result.emails) out.push_back(e.email.subject);
    return out;
}

// Polls like a scenario's trigger does: each call continues from the cursor the previous one returned. Returns
// everything emitted once at least `count` messages came, or after 30 s.
std::vector<ListedEmail> Watch(const ServerSettings& settings, Cursor& cursor, std::size_t count,
                               const SearchCriteria& criteria = {}) {
    std::vector<ListedEmail> emitted;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (emitted.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto result = ListNew(settings, "INBOX", criteria, cursor);
        if (!result) {
            ADD_FAILURE() << result.error().detail;
            return emitted;
        }
        cursor = result->cursor;
        for (auto& e : result->emails) emitted.push_back(std::move(e));
        if (emitted.size() < count) std::this_thread::sleep_for(50ms);
    }
    return emitted;
}

// Captures every log line of the library while alive.
class LogCapture {
  public:
    LogCapture() : previous_(spdlog::default_logger()) {
        auto logger =
            std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_));
        logger->set_level(spdlog::level::trace);
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    std::string text() const { return lines_.str(); }

  private:
    std::ostringstream lines_;
    std::shared_ptr<spdlog::logger> previous_;
};

TEST(Mail, SentEmailIsEmittedOnceWithEverythingDecoded) {
    auto& servers = MailServers::Shared();
    const auto alice = servers.CreateAccount("alice");
    const auto bob = servers.CreateAccount("bob");
    const auto carol = servers.CreateAccount("carol");
    const auto imap = ImapSettings(servers, alice);

    auto start = CurrentCursor(imap, "INBOX");
    ASSERT_TRUE(start.has_value()) << start.error().detail;
    Cursor cursor = *start;
    EXPECT_EQ(cursor.last_uid, 0u);

    static constexpr char kPdf[] = "%PDF-1.4\n\x00\xff binary \r\n.\r\n";  // a line with a lone dot: dot-stuffing
    const std::string pdf(kPdf, sizeof kPdf - 1);
    OutgoingEmail email;
    email.from = {"Jürgen Müller", alice.address};
    email.to = {{"Alice", alice.address}};
    email.cc = {{"Bob Ünal", bob.address}};
    email.bcc = {{"", carol.address}};
    email.subject = "Prüfung — 日本";
    email.text = "Hallo,\nsiehe Anhang.\n.\nEnde";
    email.html = "<p>Hallo, siehe <b>Anhang</b>.</p>";
    email.attachments = {{"résumé.pdf", "application/pdf", pdf}};
    auto receipt = SendEmail(SmtpSettings(servers, alice), email);
    ASSERT_TRUE(receipt.has_value()) << receipt.error().detail;
    EXPECT_EQ(receipt->server_reply.rfind("250", 0), 0u) << receipt->server_reply;

    auto emitted = Watch(imap, cursor, 1);
    ASSERT_EQ(emitted.size(), 1u) << servers.Logs();
    const auto& got = emitted[0];
    EXPECT_FALSE(got.seen);
    EXPECT_FALSE(got.truncated);
    EXPECT_GT(got.size, pdf.size());
    EXPECT_EQ(got.email.from, (Address{"Jürgen Müller", alice.address}));
    EXPECT_EQ(got.email.subject, "Prüfung — 日本");
    EXPECT_EQ(got.email.to, (std::vector<Address>{{"Alice", alice.address}}));
    EXPECT_EQ(got.email.cc, (std::vector<Address>{{"Bob Ünal", bob.address}}));
    EXPECT_EQ(got.email.message_id, receipt->message_id);
    EXPECT_FALSE(got.email.date.empty());
    EXPECT_EQ(got.email.text, "Hallo,\r\nsiehe Anhang.\r\n.\r\nEnde");
    EXPECT_EQ(got.email.html, "<p>Hallo, siehe <b>Anhang</b>.</p>");
    ASSERT_EQ(got.email.attachments.size(), 1u);
    EXPECT_EQ(got.email.attachments[0].filename, "résumé.pdf");
    EXPECT_EQ(got.email.attachments[0].content_type, "application/pdf");
    EXPECT_EQ(got.email.attachments[0].size, pdf.size());
    EXPECT_EQ(got.email.attachments[0].data, pdf);
    for (const auto& [name, value] : got.email.headers) EXPECT_NE(name, "Bcc");
    EXPECT_EQ(cursor.last_uid, got.uid);

    // Nothing new: nothing emitted, the cursor stays.
    auto again = ListNew(imap, "INBOX", {}, cursor);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(again->emails.empty());
    EXPECT_EQ(again->cursor, cursor);
    EXPECT_FALSE(again->more);

    // Cc and Bcc recipients got it too; the Bcc copy does not name Carol.
    Cursor bob_cursor;
    EXPECT_EQ(Watch(ImapSettings(servers, bob), bob_cursor, 1).size(), 1u);
    Cursor carol_cursor;
    auto carol_copy = Watch(ImapSettings(servers, carol), carol_cursor, 1);
    ASSERT_EQ(carol_copy.size(), 1u);
    EXPECT_EQ(carol_copy[0].email.subject, "Prüfung — 日本");

    // A new message is emitted, and only that one.
    OutgoingEmail second;
    second.from = {"", bob.address};
    second.to = {{"", alice.address}};
    second.subject = "second";
    second.text = "2";
    ASSERT_TRUE(SendEmail(SmtpSettings(servers, bob), second).has_value());
    auto next = Watch(imap, cursor, 1);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].email.subject, "second");
    EXPECT_GT(next[0].uid, got.uid);
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(ListNew(imap, "INBOX", {}, cursor)->emails.empty());

    // Listing fetched the messages read-only: both are still unread.
    auto unread = ListNew(imap, "INBOX", SearchCriteria{ReadFilter::kUnread, "", ""}, Cursor{});
    ASSERT_TRUE(unread.has_value());
    EXPECT_EQ(Subjects(*unread), (std::vector<std::string>{"Prüfung — 日本", "second"}));
}

TEST(Mail, UidValidityChangeRestartsTheCursorWithoutLosingMessages) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("reset");
    const auto imap = ImapSettings(servers, account);
    servers.Imap(account, "CREATE Reports");
    servers.Append(account, "Reports", SimpleMessage(account.address, "r1"));
    servers.Append(account, "Reports", SimpleMessage(account.address, "r2"));

    auto first = ListNew(imap, "Reports", {}, Cursor{});
    ASSERT_TRUE(first.has_value()) << first.error().detail;
    EXPECT_EQ(Subjects(*first), (std::vector<std::string>{"r1", "r2"}));
    EXPECT_FALSE(first->uidvalidity_changed);
    const Cursor before = first->cursor;
    EXPECT_EQ(before.last_uid, 2u);
    EXPECT_TRUE(ListNew(imap, "Reports", {}, before)->emails.empty());

    // Deleting and creating the folder again gives it a new UIDVALIDITY, and UIDs start at 1 again.
    servers.Imap(account, "DELETE Reports");
    servers.Imap(account, "CREATE Reports");
    servers.Append(account, "Reports", SimpleMessage(account.address, "after reset"));
    auto after = ListNew(imap, "Reports", {}, before);
    ASSERT_TRUE(after.has_value()) << after.error().detail;
    EXPECT_TRUE(after->uidvalidity_changed);
    EXPECT_EQ(Subjects(*after), (std::vector<std::string>{"after reset"}));
    EXPECT_NE(after->cursor.uidvalidity, before.uidvalidity);
    EXPECT_EQ(after->cursor.last_uid, 1u);
    auto settled = ListNew(imap, "Reports", {}, after->cursor);
    EXPECT_TRUE(settled->emails.empty());
    EXPECT_FALSE(settled->uidvalidity_changed);
}

TEST(Mail, MaxResultsTakesTheOldestFirstAndContinues) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("batch");
    const auto imap = ImapSettings(servers, account);
    for (int i = 1; i <= 5; ++i)
        servers.Append(account, "INBOX", SimpleMessage(account.address, "m" + std::to_string(i)));

    ListOptions two;
    two.max_results = 2;
    Cursor cursor;
    std::vector<std::vector<std::string>> batches;
    std::vector<bool> more;
    for (int i = 0; i < 4; ++i) {
        auto result = ListNew(imap, "INBOX", {}, cursor, two);
        ASSERT_TRUE(result.has_value()) << result.error().detail;
        batches.push_back(Subjects(*result));
        more.push_back(result->more);
        cursor = result->cursor;
    }
    EXPECT_EQ(batches, (std::vector<std::vector<std::string>>{{"m1", "m2"}, {"m3", "m4"}, {"m5"}, {}}));
    EXPECT_EQ(more, (std::vector<bool>{true, true, false, false}));

    auto zero = ListNew(imap, "INBOX", {}, Cursor{}, ListOptions{.max_results = 0});
    ASSERT_FALSE(zero.has_value());
    EXPECT_EQ(zero.error().code, core::Errc::kInvalidArgument);
}

// The same filters through one SEARCH, through UID windows with ESEARCH MIN, and through windows without ESEARCH.
void ExpectFiltersWork(MailServers& servers, const ListOptions& options) {
    const auto account = servers.CreateAccount("filter");
    const auto imap = ImapSettings(servers, account);
    const std::vector<std::pair<std::string, std::string>> messages = {
        {"Jürgen Müller <j@example.de>", "Invoice 1"}, {"Anna <anna@example.com>", "Invoice 2"},
        {"Jürgen Müller <j@example.de>", "Hello"},     {"Bob <bob@example.com>", "hello"},
        {"Jürgen Müller <j@example.de>", "invoice 3"}, {"Anna <anna@example.com>", "Lunch"},
        {"bot@jürgen.example", "invoice 4"},
    };
    for (const auto& [from, subject] : messages) {
        OutgoingEmail email;
        email.from = ParseAddressList(from).value().front();
        email.to = {{"", account.address}};
        email.subject = subject;
        email.text = "x";
        servers.Append(account, "INBOX", ComposeMessage(email).value());
    }
    auto list = [&](const SearchCriteria& criteria, Cursor cursor = {}) {
        auto result = ListNew(imap, "INBOX", criteria, cursor, options);
        EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().detail);
        return result ? Subjects(*result) : std::vector<std::string>{};
    };
    EXPECT_EQ(list({ReadFilter::kAll, "Jürgen", ""}), (std::vector<std::string>{"Invoice 1", "Hello", "invoice 3"}));
    EXPECT_EQ(list({ReadFilter::kAll, "", "invoice"}),
              (std::vector<std::string>{"Invoice 1", "Invoice 2", "invoice 3", "invoice 4"}));
    EXPECT_EQ(list({ReadFilter::kAll, "anna@", "invoice"}), (std::vector<std::string>{"Invoice 2"}));
    EXPECT_EQ(list({ReadFilter::kAll, "", "invoice"}, Cursor{0, 0}).size(), 4u);
    EXPECT_TRUE(list({ReadFilter::kAll, "nobody", ""}).empty());
    EXPECT_TRUE(list({ReadFilter::kRead, "", ""}).empty());

    // The cursor of a filtered watch passes the messages that did not match.
    auto filtered = ListNew(imap, "INBOX", {ReadFilter::kAll, "", "lunch"}, Cursor{}, options);
    ASSERT_TRUE(filtered.has_value());
    EXPECT_EQ(Subjects(*filtered), (std::vector<std::string>{"Lunch"}));
    EXPECT_EQ(filtered->cursor.last_uid, 7u);

    auto bad = ListNew(imap, "INBOX", {ReadFilter::kAll, "a\r\nb", ""}, Cursor{}, options);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, core::Errc::kInvalidArgument);
}

TEST(Mail, FiltersInOneSearch) { ExpectFiltersWork(MailServers::Shared(), ListOptions{}); }

TEST(Mail, FiltersInUidWindowsWithAndWithoutEsearch) {
    ListOptions windows;
    windows.search_window = 2;
    ExpectFiltersWork(MailServers::Shared(), windows);
    MailServers plain(MailServers::Options{{"ESEARCH", "MOVE"}});
    ExpectFiltersWork(plain, windows);
}

TEST(Mail, MarkSeenAndTheUnreadCriteria) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("flags");
    const auto imap = ImapSettings(servers, account);
    for (const char* subject : {"one", "two", "three"})
        servers.Append(account, "INBOX", SimpleMessage(account.address, subject));
    auto all = ListNew(imap, "INBOX", {}, Cursor{});
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->emails.size(), 3u);
    const std::uint32_t two = all->emails[1].uid;
    const std::uint32_t uidvalidity = all->cursor.uidvalidity;

    ASSERT_TRUE(MarkSeen(imap, MessageRef{"INBOX", two, uidvalidity}, true).has_value());
    EXPECT_EQ(Subjects(ListNew(imap, "INBOX", {ReadFilter::kUnread, "", ""}, Cursor{}).value()),
              (std::vector<std::string>{"one", "three"}));
    auto read = ListNew(imap, "INBOX", {ReadFilter::kRead, "", ""}, Cursor{}).value();
    ASSERT_EQ(read.emails.size(), 1u);
    EXPECT_EQ(read.emails[0].email.subject, "two");
    EXPECT_TRUE(read.emails[0].seen);
    EXPECT_NE(std::find(read.emails[0].flags.begin(), read.emails[0].flags.end(), "\\Seen"),
              read.emails[0].flags.end());

    ASSERT_TRUE(MarkSeen(imap, MessageRef{"INBOX", two, 0}, false).has_value());
    EXPECT_EQ(ListNew(imap, "INBOX", {ReadFilter::kUnread, "", ""}, Cursor{}).value().emails.size(), 3u);

    auto missing = MarkSeen(imap, MessageRef{"INBOX", 999, 0}, true);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
    auto stale = MarkSeen(imap, MessageRef{"INBOX", two, uidvalidity + 1}, true);
    ASSERT_FALSE(stale.has_value());
    EXPECT_EQ(stale.error().code, core::Errc::kNotFound);
    EXPECT_NE(stale.error().detail.find("UIDVALIDITY"), std::string::npos);
    auto no_folder = MarkSeen(imap, MessageRef{"Nope", 1, 0}, true);
    ASSERT_FALSE(no_folder.has_value());
    EXPECT_EQ(no_folder.error().code, core::Errc::kNotFound);
}

void ExpectMoveWorks(MailServers& servers) {
    const auto account = servers.CreateAccount("move");
    const auto imap = ImapSettings(servers, account);
    servers.Imap(account, "CREATE Archive");
    servers.Imap(account, "CREATE \"Entw&APw-rfe\"");  // "Entwürfe" in modified UTF-7
    for (const char* subject : {"keep", "archive me", "draft"}) {
        servers.Append(account, "INBOX", SimpleMessage(account.address, subject));
    }
    auto inbox = ListNew(imap, "INBOX", {}, Cursor{}).value();
    ASSERT_EQ(inbox.emails.size(), 3u);

    auto moved = Move(imap, MessageRef{"INBOX", inbox.emails[1].uid, inbox.cursor.uidvalidity}, "Archive");
    ASSERT_TRUE(moved.has_value()) << moved.error().detail;
    ASSERT_TRUE(Move(imap, MessageRef{"INBOX", inbox.emails[2].uid, 0}, "Entwürfe").has_value());
    EXPECT_EQ(Subjects(ListNew(imap, "INBOX", {}, Cursor{}).value()), (std::vector<std::string>{"keep"}));
    EXPECT_EQ(Subjects(ListNew(imap, "Archive", {}, Cursor{}).value()), (std::vector<std::string>{"archive me"}));
    EXPECT_EQ(Subjects(ListNew(imap, "Entwürfe", {}, Cursor{}).value()), (std::vector<std::string>{"draft"}));

    auto no_target = Move(imap, MessageRef{"INBOX", inbox.emails[0].uid, 0}, "Does Not Exist");
    ASSERT_FALSE(no_target.has_value());
    EXPECT_EQ(no_target.error().code, core::Errc::kNotFound) << no_target.error().detail;
    EXPECT_NE(no_target.error().detail.find("TRYCREATE"), std::string::npos) << no_target.error().detail;
    auto gone = Move(imap, MessageRef{"INBOX", inbox.emails[1].uid, 0}, "Archive");
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code, core::Errc::kNotFound);
    EXPECT_EQ(Subjects(ListNew(imap, "INBOX", {}, Cursor{}).value()), (std::vector<std::string>{"keep"}));
}

TEST(Mail, MoveWithUidMove) { ExpectMoveWorks(MailServers::Shared()); }

TEST(Mail, MoveWithCopyAndExpungeWhenTheServerLacksMove) {
    MailServers no_move(MailServers::Options{{"MOVE"}});
    ExpectMoveWorks(no_move);
}

TEST(Mail, WrongPasswordsGiveTheServersReasonAndNeverThePassword) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("secret");
    LogCapture logs;
    const std::string wrong = "Wr0ng-Pa55word-7f3c";

    ASSERT_TRUE(VerifyImap(ImapSettings(servers, account)).has_value());
    ASSERT_TRUE(VerifySmtp(SmtpSettings(servers, account)).has_value());

    auto imap = ImapSettings(servers, account);
    imap.password = core::Secret(wrong);
    auto verify = VerifyImap(imap);
    ASSERT_FALSE(verify.has_value());
    EXPECT_EQ(verify.error().code, core::Errc::kUnauthenticated);
    EXPECT_NE(verify.error().detail.find("[AUTHENTICATIONFAILED] Authentication failed."), std::string::npos)
        << verify.error().detail;
    auto list = ListNew(imap, "INBOX", {}, Cursor{});
    ASSERT_FALSE(list.has_value());
    EXPECT_EQ(list.error().code, core::Errc::kUnauthenticated);

    auto smtp = SmtpSettings(servers, account);
    smtp.password = core::Secret(wrong);
    auto verify_smtp = VerifySmtp(smtp);
    ASSERT_FALSE(verify_smtp.has_value());
    EXPECT_EQ(verify_smtp.error().code, core::Errc::kUnauthenticated);
    EXPECT_NE(verify_smtp.error().detail.find("535 5.7.8 Error: authentication failed"), std::string::npos)
        << verify_smtp.error().detail;
    auto send = Send(smtp, account.address, {account.address}, SimpleMessage(account.address, "never"));
    ASSERT_FALSE(send.has_value());
    EXPECT_EQ(send.error().code, core::Errc::kUnauthenticated);

    for (const core::Error& error : {verify.error(), list.error(), verify_smtp.error(), send.error()}) {
        for (const auto& text : {error.message, error.detail}) {
            EXPECT_EQ(text.find(wrong), std::string::npos) << text;
            EXPECT_EQ(text.find(account.password), std::string::npos) << text;
        }
    }
    EXPECT_EQ(logs.text().find(wrong), std::string::npos);
    EXPECT_EQ(logs.text().find(account.password), std::string::npos);
    EXPECT_EQ(servers.Logs().find(wrong), std::string::npos);
    EXPECT_EQ(servers.Logs().find(account.password), std::string::npos);
}

TEST(Mail, SmtpRelaysNothingWithoutAuth) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("anon");
    auto anonymous = SmtpSettings(servers, account);
    anonymous.username.clear();
    anonymous.password = core::Secret();
    auto sent = Send(anonymous, account.address, {account.address}, SimpleMessage(account.address, "spam"));
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code, core::Errc::kUpstreamError);
    EXPECT_NE(sent.error().detail.find("554 5.7.1"), std::string::npos) << sent.error().detail;
    EXPECT_NE(sent.error().detail.find("Access denied"), std::string::npos) << sent.error().detail;

    auto no_recipient = Send(SmtpSettings(servers, account), account.address, {}, "x");
    ASSERT_FALSE(no_recipient.has_value());
    EXPECT_EQ(no_recipient.error().code, core::Errc::kInvalidArgument);
    auto injected = Send(SmtpSettings(servers, account), account.address, {"a@example.test>\r\nRCPT TO:<b@x"}, "x");
    ASSERT_FALSE(injected.has_value());
    EXPECT_EQ(injected.error().code, core::Errc::kInvalidArgument);
}

TEST(Mail, TlsVerifiesTheCertificateUnlessTheSettingsSayOtherwise) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("tls");

    for (const auto security : {Security::kTls, Security::kStartTls}) {
        auto imap = ImapSettings(servers, account, security);
        auto smtp = SmtpSettings(servers, account, security);
        const std::string name = security == Security::kTls ? "TLS" : "STARTTLS";

        // Self-signed and not trusted: refused.
        auto untrusted = VerifyImap(imap);
        ASSERT_FALSE(untrusted.has_value()) << name;
        EXPECT_EQ(untrusted.error().code, core::Errc::kUnavailable) << name;
        EXPECT_NE(untrusted.error().detail.find("certificate"), std::string::npos) << untrusted.error().detail;
        auto untrusted_smtp = VerifySmtp(smtp);
        ASSERT_FALSE(untrusted_smtp.has_value()) << name;
        EXPECT_EQ(untrusted_smtp.error().code, core::Errc::kUnavailable) << name;

        // Pinned through the settings' CA bundle: verified and accepted.
        imap.ca_certificate_pem = servers.certificate_pem();
        smtp.ca_certificate_pem = servers.certificate_pem();
        auto pinned = VerifyImap(imap);
        EXPECT_TRUE(pinned.has_value()) << name << ": " << (pinned ? "" : pinned.error().detail);
        auto pinned_smtp = VerifySmtp(smtp);
        EXPECT_TRUE(pinned_smtp.has_value()) << name << ": " << (pinned_smtp ? "" : pinned_smtp.error().detail);

        // Verification off, as a test or an explicitly trusted server may ask.
        imap.ca_certificate_pem.clear();
        imap.verify_tls_certificate = false;
        smtp.ca_certificate_pem.clear();
        smtp.verify_tls_certificate = false;
        EXPECT_TRUE(VerifyImap(imap).has_value()) << name;
        EXPECT_TRUE(VerifySmtp(smtp).has_value()) << name;

        OutgoingEmail email;
        email.from = {"", account.address};
        email.to = {{"", account.address}};
        email.subject = "over " + name;
        email.text = "encrypted";
        ASSERT_TRUE(SendEmail(smtp, email).has_value()) << name;
    }
    Cursor cursor;
    auto tls_imap = ImapSettings(servers, account, Security::kTls);
    tls_imap.ca_certificate_pem = servers.certificate_pem();
    auto received = Watch(tls_imap, cursor, 2);
    std::vector<std::string> subjects;
    for (const auto& e : received) subjects.push_back(e.email.subject);
    std::sort(subjects.begin(), subjects.end());
    EXPECT_EQ(subjects, (std::vector<std::string>{"over STARTTLS", "over TLS"}));
}

TEST(Mail, TransportFailuresAndTheSsrfPolicy) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("net");

    auto imap = ImapSettings(servers, account);
    imap.allow_private_network = false;
    auto refused = VerifyImap(imap);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, core::Errc::kPermissionDenied) << refused.error().detail;
    auto smtp = SmtpSettings(servers, account);
    smtp.allow_private_network = false;
    auto refused_smtp = VerifySmtp(smtp);
    ASSERT_FALSE(refused_smtp.has_value());
    EXPECT_EQ(refused_smtp.error().code, core::Errc::kPermissionDenied) << refused_smtp.error().detail;

    // A port nobody listens on: the probe's port is free once the probe closes it.
    auto closed = ImapSettings(servers, account);
    closed.port = 1;
    auto unreachable = VerifyImap(closed);
    ASSERT_FALSE(unreachable.has_value());
    EXPECT_EQ(unreachable.error().code, core::Errc::kUnavailable) << unreachable.error().detail;

    auto missing = ListNew(ImapSettings(servers, account), "Nope", {}, Cursor{});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
    EXPECT_NE(missing.error().detail.find("doesn't exist"), std::string::npos) << missing.error().detail;
}

TEST(Mail, OversizedMessagesAreListedWithTheirHeadersOnly) {
    auto& servers = MailServers::Shared();
    const auto account = servers.CreateAccount("big");
    OutgoingEmail email;
    email.from = {"", account.address};
    email.to = {{"", account.address}};
    email.subject = "big one";
    email.text = "see attachment";
    email.attachments = {{"big.bin", "application/octet-stream", std::string(64 * 1024, 'x')}};
    servers.Append(account, "INBOX", ComposeMessage(email).value());
    servers.Append(account, "INBOX", SimpleMessage(account.address, "small one"));

    ListOptions options;
    options.max_message_bytes = 16 * 1024;
    auto result = ListNew(ImapSettings(servers, account), "INBOX", {}, Cursor{}, options);
    ASSERT_TRUE(result.has_value()) << result.error().detail;
    ASSERT_EQ(result->emails.size(), 2u);
    EXPECT_TRUE(result->emails[0].truncated);
    EXPECT_EQ(result->emails[0].email.subject, "big one");
    EXPECT_GT(result->emails[0].size, 64u * 1024);
    EXPECT_TRUE(result->emails[0].email.attachments.empty());
    EXPECT_FALSE(result->emails[1].truncated);
    EXPECT_EQ(result->emails[1].email.text, "body\r\n");
}

}  // namespace
}  // namespace switchboard::mail
