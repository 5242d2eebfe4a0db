#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/encoding.hpp"
#include "nativeapps/email_app.hpp"

namespace switchboard::nativeapps {
namespace {

namespace json = boost::json;

TEST(MailSettings, ReadsTheConnectionFieldsWithTheServerPolicy) {
    NativeAppsOptions options;
    options.allow_private_network = true;
    auto s = MailSettings(json::parse(R"({"host":"imap.example.com","port":1143,"security":"starttls",
        "username":"ana@example.com","password":"pw-123","verifyCertificate":false})")
                              .as_object(),
                          options);
    ASSERT_TRUE(s.has_value()) << s.error().detail;
    EXPECT_EQ(s->host, "imap.example.com");
    EXPECT_EQ(s->port, 1143);
    EXPECT_EQ(s->security, mail::Security::kStartTls);
    EXPECT_EQ(s->username, "ana@example.com");
    EXPECT_EQ(s->password.Reveal(), "pw-123");
    EXPECT_FALSE(s->verify_tls_certificate);
    EXPECT_TRUE(s->allow_private_network);

    auto defaults = MailSettings(json::parse(R"({"host":"h","username":"u","password":"p"})").as_object(), {});
    ASSERT_TRUE(defaults.has_value());
    EXPECT_EQ(defaults->port, 0);  // the protocol's default
    EXPECT_EQ(defaults->security, mail::Security::kTls);
    EXPECT_TRUE(defaults->verify_tls_certificate);
    EXPECT_FALSE(defaults->allow_private_network);

    EXPECT_FALSE(MailSettings(json::parse(R"({"username":"u"})").as_object(), {}).has_value());
    auto bad = MailSettings(json::parse(R"({"host":"h","security":"ssl"})").as_object(), {});
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().detail.find("tls, starttls or none"), std::string::npos);
    EXPECT_FALSE(MailSettings(json::parse(R"({"host":"h","port":70000})").as_object(), {}).has_value());
    EXPECT_FALSE(MailSettings(json::parse(R"({"host":"h","port":"12a"})").as_object(), {}).has_value());
}

TEST(EmailCursor, RoundTripsAndRefusesAnythingElse) {
    const EmailCursor c{"Archive/2026", {4'000'000'000u, 17}};
    auto back = DecodeEmailCursor(EncodeEmailCursor(c));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->folder, "Archive/2026");
    EXPECT_EQ(back->cursor, c.cursor);
    for (const char* bad :
         {"", "not json", "[]", R"({"folder":"INBOX"})", R"({"folder":1,"uidvalidity":1,"lastUid":1})",
          R"({"folder":"INBOX","uidvalidity":-1,"lastUid":1})",
          R"({"folder":"INBOX","uidvalidity":1,"lastUid":4294967296})", R"({"type":"id","last":5})"}) {
        EXPECT_FALSE(DecodeEmailCursor(bad).has_value()) << bad;
    }
}

TEST(EmailBundle, HasEveryOutputField) {
    mail::ListedEmail listed;
    listed.uid = 7;
    listed.seen = true;
    listed.size = 1234;
    listed.flags = {"\\Seen", "$Label1"};
    auto& e = listed.email;
    e.message_id = "abc@example.com";
    e.from = {"Jürgen Müller", "j@example.com"};
    e.to = {{"", "a@example.com"}, {"Bo", "b@example.com"}};
    e.subject = "Prüfung";
    e.date = "2026-11-28T16:57:58.000Z";
    e.text = "hi";
    e.headers = {{"Received", "one"}, {"Subject", "Prüfung"}, {"received", "two"}, {"X-Tag", "t"}};
    mail::Attachment a;
    a.filename = "résumé.pdf";
    a.content_type = "application/pdf";
    a.size = 3;
    a.data = std::string("\x00\xff\x01", 3);
    e.attachments.push_back(a);

    const json::object b = EmailBundle(listed, "INBOX");
    EXPECT_EQ(b.at("sender"), json::parse(R"({"name":"Jürgen Müller","address":"j@example.com"})"));
    EXPECT_EQ(b.at("to").as_array().size(), 2u);
    EXPECT_EQ(b.at("to").at(1).at("name").as_string(), "Bo");
    EXPECT_TRUE(b.at("cc").as_array().empty());
    EXPECT_EQ(b.at("subject").as_string(), "Prüfung");
    EXPECT_EQ(b.at("date").as_string(), "2026-11-28T16:57:58.000Z");
    EXPECT_EQ(b.at("headers").at("received"), json::parse(R"(["one","two"])"));
    EXPECT_EQ(b.at("headers").at("x-tag").as_string(), "t");
    const auto& att = b.at("attachments").at(0).as_object();
    EXPECT_EQ(att.at("fileName").as_string(), "résumé.pdf");
    EXPECT_EQ(att.at("contentType").as_string(), "application/pdf");
    EXPECT_EQ(att.at("size").to_number<int>(), 3);
    EXPECT_EQ(core::Base64Decode(att.at("data").as_string()).value(), a.data);
    EXPECT_EQ(b.at("uid").to_number<int>(), 7);
    EXPECT_EQ(b.at("folder").as_string(), "INBOX");
    EXPECT_TRUE(b.at("seen").as_bool());
    EXPECT_EQ(b.at("messageId").as_string(), "abc@example.com");
    EXPECT_FALSE(b.at("truncated").as_bool());

    listed.email.date.clear();
    EXPECT_TRUE(EmailBundle(listed, "INBOX").at("date").is_null());
}

TEST(AddressesOf, TakesArraysTextAndWatchEmailsObjects) {
    auto list = AddressesOf(json::parse(R"(["a@x.com", "Jane Doe <jane@x.com>, bob@y.com",
                                           {"name":"Ünal","address":"u@z.com"}, null])"),
                            "to");
    ASSERT_TRUE(list.has_value()) << list.error().detail;
    ASSERT_EQ(list->size(), 4u);
    EXPECT_EQ((*list)[1].name, "Jane Doe");
    EXPECT_EQ((*list)[2].address, "bob@y.com");
    EXPECT_EQ((*list)[3].name, "Ünal");
    EXPECT_EQ((*list)[3].address, "u@z.com");

    auto text = AddressesOf(json::value("a@x.com; b@y.com"), "cc");
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(text->size(), 2u);
    EXPECT_TRUE(AddressesOf(json::value(""), "cc")->empty());
    EXPECT_TRUE(AddressesOf(json::value(nullptr), "cc")->empty());

    auto bad = AddressesOf(json::parse(R"(["a@x.com", "not an address"])"), "to");
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().detail.find("to[1]"), std::string::npos) << bad.error().detail;
    EXPECT_FALSE(AddressesOf(json::parse(R"([{"name":"x"}])"), "to").has_value());
    EXPECT_FALSE(AddressesOf(json::value(5), "to").has_value());
}

TEST(AttachmentsOf, DecodesBase64AsWatchEmailsGivesIt) {
    const std::string bytes("%PDF\x00\xff", 6);
    json::array given{json::object{{"fileName", "a.pdf"},
                                   {"data", core::Base64Encode(bytes).insert(4, "\r\n")},
                                   {"contentType", "application/pdf"}},
                      json::object{{"fileName", "b.bin"}, {"data", ""}}};
    auto list = AttachmentsOf(given);
    ASSERT_TRUE(list.has_value()) << list.error().detail;
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].filename, "a.pdf");
    EXPECT_EQ((*list)[0].data, bytes);
    EXPECT_EQ((*list)[0].content_type, "application/pdf");
    EXPECT_EQ((*list)[1].content_type, "application/octet-stream");

    EXPECT_FALSE(AttachmentsOf(json::parse(R"([{"fileName":"a","data":"***"}])")).has_value());
    EXPECT_FALSE(AttachmentsOf(json::parse(R"([{"data":"QQ=="}])")).has_value());
    EXPECT_FALSE(AttachmentsOf(json::value("x")).has_value());
    EXPECT_TRUE(AttachmentsOf(json::value(nullptr))->empty());
}

TEST(MailFailure, MapsToMakesErrorTypesAndMasksSecrets) {
    const http_client::Sanitizer sanitizer({core::Secret("hunter22")});
    struct Case {
        core::Errc code;
        std::string detail;
        std::string_view type;
    };
    const std::vector<Case> cases = {
        {core::Errc::kUnauthenticated, "refused the login: [AUTHENTICATIONFAILED]", engine::errors::kAccountValidation},
        {core::Errc::kUnavailable, "connection refused", engine::errors::kConnection},
        {core::Errc::kUnavailable, "Timeout was reached", engine::errors::kModuleTimeout},
        {core::Errc::kPermissionDenied, "127.0.0.1 is loopback", engine::errors::kInvalidConfiguration},
        {core::Errc::kInvalidArgument, "no recipient", engine::errors::kBundleValidation},
        {core::Errc::kNotFound, "no folder Nope", engine::errors::kData},
        {core::Errc::kUpstreamError, "550 rejected hunter22", engine::errors::kData},
        {core::Errc::kInternal, "?", engine::errors::kRuntime},
    };
    for (const auto& c : cases) {
        auto f = MailFailure(core::Error::Make(c.code, "x", c.detail), &sanitizer);
        EXPECT_EQ(f.type, c.type) << c.detail;
        EXPECT_EQ(f.message.find("hunter22"), std::string::npos) << f.message;
    }
}

}  // namespace
}  // namespace switchboard::nativeapps
