#include "mail/mime.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/clock.hpp"
#include "core/random.hpp"

namespace switchboard::mail {

namespace {

void EnsureGMime() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

struct GObjectUnref {
    void operator()(gpointer object) const {
        if (object != nullptr) g_object_unref(object);
    }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
    void operator()(gpointer p) const { g_free(p); }
};
using GChars = std::unique_ptr<char, GFree>;

// GMime returns decoded text as UTF-8 where it can; a part or header in an unknown or lying charset can still
// carry invalid bytes, which become U+FFFD so that every string leaving this file is valid UTF-8.
std::string ValidUtf8(const char* text, std::size_t length) {
    if (text == nullptr) return {};
    if (g_utf8_validate(text, static_cast<gssize>(length), nullptr)) return std::string(text, length);
    GChars fixed(g_utf8_make_valid(text, static_cast<gssize>(length)));
    return fixed.get();
}
std::string ValidUtf8(const char* text) { return text == nullptr ? std::string() : ValidUtf8(text, std::strlen(text)); }

// A body part without a charset parameter that is not UTF-8 is, in practice, Windows-1252 (the superset of
// Latin-1 that mail clients assume).
std::string TextFromLegacyBytes(const std::string& bytes) {
    if (g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr)) return bytes;
    gsize written = 0;
    GChars converted(g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8", "WINDOWS-1252", nullptr,
                               &written, nullptr));
    if (converted) return ValidUtf8(converted.get(), written);
    return ValidUtf8(bytes.data(), bytes.size());
}

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

void AppendMailboxes(InternetAddressList* list, std::vector<Address>& out, int depth = 0) {
    if (list == nullptr || depth > 4) return;
    const int count = internet_address_list_length(list);
    for (int i = 0; i < count; ++i) {
        InternetAddress* address = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
            out.push_back({ValidUtf8(internet_address_get_name(address)),
                           ValidUtf8(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address)))});
        } else if (INTERNET_ADDRESS_IS_GROUP(address)) {
            AppendMailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), out, depth + 1);
        }
    }
}

std::string MimeType(GMimeObject* object) {
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type == nullptr) return "application/octet-stream";
    GChars mime_type(g_mime_content_type_get_mime_type(type));
    return mime_type ? Lower(mime_type.get()) : std::string("application/octet-stream");
}

std::string StreamBytes(GMimeStream* stream) {
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
    if (bytes == nullptr || bytes->len == 0) return {};
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// The part's content with its transfer encoding (base64, quoted-printable) undone.
std::string DecodedContent(GMimePart* part) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (content == nullptr) return {};
    GPtr<GMimeStream> stream(g_mime_stream_mem_new());
    if (g_mime_data_wrapper_write_to_stream(content, stream.get()) < 0) return {};
    return StreamBytes(stream.get());
}

std::string PartText(GMimePart* part) {
    if (g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset") == nullptr) {
        return TextFromLegacyBytes(DecodedContent(part));
    }
    // Converts from the declared charset to UTF-8.
    GChars text(g_mime_text_part_get_text(GMIME_TEXT_PART(part)));
    return ValidUtf8(text.get());
}

void AppendText(std::string& body, std::string text) {
    if (text.empty()) return;
    if (!body.empty()) body += "\n";
    body += text;
}

struct Walker {
    Email& email;
    const ParseOptions& options;

    void Walk(GMimeObject* object, int depth) {
        // GMime bounds the nesting while parsing; this bound only keeps the recursion obviously finite.
        if (object == nullptr || depth > 64) return;
        if (GMIME_IS_MULTIPART(object)) {
            GMimeMultipart* multipart = GMIME_MULTIPART(object);
            const int count = g_mime_multipart_get_count(multipart);
            for (int i = 0; i < count; ++i) Walk(g_mime_multipart_get_part(multipart, i), depth + 1);
        } else if (GMIME_IS_MESSAGE_PART(object)) {
            AddMessageAttachment(object);
        } else if (GMIME_IS_PART(object)) {
            AddPart(GMIME_PART(object));
        }
    }

    void AddPart(GMimePart* part) {
        GMimeObject* object = GMIME_OBJECT(part);
        const std::string type = MimeType(object);
        const char* filename = g_mime_part_get_filename(part);
        const bool named = filename != nullptr && *filename != '\0';
        if (GMIME_IS_TEXT_PART(part) && !named && !g_mime_part_is_attachment(part)) {
            if (type == "text/plain") {
                AppendText(email.text, PartText(part));
                return;
            }
            if (type == "text/html") {
                AppendText(email.html, PartText(part));
                return;
            }
        }
        Attachment attachment;
        attachment.filename = ValidUtf8(filename);
        attachment.content_type = type;
        attachment.content_id = ValidUtf8(g_mime_part_get_content_id(part));
        const char* disposition = g_mime_object_get_disposition(object);
        attachment.is_inline = disposition == nullptr || g_ascii_strcasecmp(disposition, "attachment") != 0;
        std::string data = DecodedContent(part);
        attachment.size = data.size();
        if (options.include_attachment_data) attachment.data = std::move(data);
        email.attachments.push_back(std::move(attachment));
    }

    // A forwarded message (message/rfc822) is an attachment holding the whole inner message.
    void AddMessageAttachment(GMimeObject* object) {
        Attachment attachment;
        attachment.content_type = MimeType(object);
        attachment.filename = ValidUtf8(g_mime_object_get_content_disposition_parameter(object, "filename"));
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        if (attachment.filename.empty()) {
            const char* subject = inner != nullptr ? g_mime_message_get_subject(inner) : nullptr;
            attachment.filename = (subject != nullptr && *subject != '\0' ? ValidUtf8(subject) : "message") + ".eml";
        }
        const char* disposition = g_mime_object_get_disposition(object);
        attachment.is_inline = disposition == nullptr || g_ascii_strcasecmp(disposition, "attachment") != 0;
        std::string data;
        if (inner != nullptr) {
            GChars raw(g_mime_object_to_string(GMIME_OBJECT(inner), nullptr));
            if (raw) data = raw.get();
        }
        attachment.size = data.size();
        if (options.include_attachment_data) attachment.data = std::move(data);
        email.attachments.push_back(std::move(attachment));
    }
};

// Outlook users separate addresses with ';', which RFC 5322 reserves for ending a group ("Team: a@x, b@y;").
// Without a group (no ':' outside quotes and angle brackets) every such ';' is read as ','.
std::string SemicolonsAsCommas(std::string_view text) {
    std::string out(text);
    std::vector<std::size_t> semicolons;
    bool quoted = false;
    int angle = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char c = out[i];
        if (quoted) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == '<') {
            ++angle;
        } else if (c == '>') {
            angle = std::max(0, angle - 1);
        } else if (angle == 0 && c == ':') {
            return out;
        } else if (angle == 0 && c == ';') {
            semicolons.push_back(i);
        }
    }
    for (auto i : semicolons) out[i] = ',';
    return out;
}

// --- composition -----------------------------------------------------------------------------------------------

bool IsAddrSpec(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
    return std::none_of(address.begin(), address.end(), [](unsigned char c) {
        return c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '(' || c == ')';
    });
}

// Display names and subjects come from mapped data; a line break there would start a new header field, so every
// run of CR, LF and TAB becomes one space.
std::string OneLine(std::string_view text) {
    std::string out;
    bool in_break = false;
    for (char c : text) {
        if (c == '\r' || c == '\n' || c == '\t') {
            if (!in_break) out += ' ';
            in_break = true;
        } else {
            out += c;
            in_break = false;
        }
    }
    return out;
}

bool IsHeaderToken(std::string_view name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

bool IsComposerHeader(std::string_view name) {
    static constexpr std::string_view kOwn[] = {"from", "to",         "cc",           "bcc",     "subject",
                                                "date", "message-id", "mime-version", "reply-to"};
    const std::string lower = Lower(std::string(name));
    if (lower.rfind("content-", 0) == 0) return true;
    return std::find(std::begin(kOwn), std::end(kOwn), lower) != std::end(kOwn);
}

core::Result<void> CheckAddresses(const std::vector<Address>& addresses, std::string_view field) {
    for (const auto& a : addresses) {
        if (!IsAddrSpec(a.address)) {
            return core::InvalidArgument(std::string(field) + ": not an email address: \"" + a.address + "\"");
        }
    }
    return {};
}

void AddMailboxes(GMimeMessage* message, GMimeAddressType type, const std::vector<Address>& addresses) {
    for (const auto& a : addresses) {
        const std::string name = OneLine(ValidUtf8(a.name.data(), a.name.size()));
        g_mime_message_add_mailbox(message, type, name.empty() ? nullptr : name.c_str(), a.address.c_str());
    }
}

// LF line ends inside the text; the writer turns every line end into CRLF.
std::string NormalizedText(std::string_view text) {
    std::string valid = ValidUtf8(text.data(), text.size());
    std::string out;
    out.reserve(valid.size());
    for (std::size_t i = 0; i < valid.size(); ++i) {
        if (valid[i] == '\r') {
            out += '\n';
            if (i + 1 < valid.size() && valid[i + 1] == '\n') ++i;
        } else {
            out += valid[i];
        }
    }
    return out;
}

GPtr<GMimeObject> TextPart(const char* subtype, std::string_view text) {
    GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
    const std::string normalized = NormalizedText(text);
    g_mime_text_part_set_text(part, normalized.c_str());
    g_mime_part_set_content_encoding(
        GMIME_PART(part), g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
    return GPtr<GMimeObject>(GMIME_OBJECT(part));
}

GPtr<GMimeObject> AttachmentPart(const OutgoingAttachment& attachment) {
    GPtr<GMimeContentType> type(g_mime_content_type_parse(
        nullptr, attachment.content_type.empty() ? "application/octet-stream" : attachment.content_type.c_str()));
    const char* media = type ? g_mime_content_type_get_media_type(type.get()) : nullptr;
    const char* subtype = type ? g_mime_content_type_get_media_subtype(type.get()) : nullptr;
    GMimePart* part = (media != nullptr && subtype != nullptr)
                          ? g_mime_part_new_with_type(media, subtype)
                          : g_mime_part_new_with_type("application", "octet-stream");
    g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
    if (!attachment.filename.empty()) {
        const std::string filename = OneLine(ValidUtf8(attachment.filename.data(), attachment.filename.size()));
        g_mime_part_set_filename(part, filename.c_str());
    }
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(attachment.data.data(), attachment.data.size()));
    GPtr<GMimeDataWrapper> content(g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part, content.get());
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
    return GPtr<GMimeObject>(GMIME_OBJECT(part));
}

GPtr<GMimeObject> Body(const OutgoingEmail& email) {
    GPtr<GMimeObject> body;
    if (!email.text.empty() && !email.html.empty()) {
        GMimeMultipart* alternative = g_mime_multipart_new_with_subtype("alternative");
        g_mime_multipart_add(alternative, TextPart("plain", email.text).get());
        g_mime_multipart_add(alternative, TextPart("html", email.html).get());
        body.reset(GMIME_OBJECT(alternative));
    } else if (!email.html.empty()) {
        body = TextPart("html", email.html);
    } else {
        body = TextPart("plain", email.text);
    }
    if (email.attachments.empty()) return body;
    GMimeMultipart* mixed = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mixed, body.get());
    for (const auto& attachment : email.attachments) g_mime_multipart_add(mixed, AttachmentPart(attachment).get());
    return GPtr<GMimeObject>(GMIME_OBJECT(mixed));
}

}  // namespace

core::Result<Email> ParseMessage(std::string_view raw, const ParseOptions& options) {
    if (raw.empty()) return core::InvalidArgument("empty message");
    if (raw.size() > options.max_bytes) {
        return core::Error::Make(core::Errc::kPayloadTooLarge, "Payload too large",
                                 "message of " + std::to_string(raw.size()) + " bytes exceeds the limit of " +
                                     std::to_string(options.max_bytes));
    }
    EnsureGMime();
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!message) return core::InvalidArgument("not an email message (no header could be read)");

    Email email;
    email.message_id = ValidUtf8(g_mime_message_get_message_id(message.get()));
    std::vector<Address> from;
    AppendMailboxes(g_mime_message_get_from(message.get()), from);
    if (!from.empty()) email.from = from.front();
    AppendMailboxes(g_mime_message_get_to(message.get()), email.to);
    AppendMailboxes(g_mime_message_get_cc(message.get()), email.cc);
    AppendMailboxes(g_mime_message_get_reply_to(message.get()), email.reply_to);
    email.subject = ValidUtf8(g_mime_message_get_subject(message.get()));
    if (GDateTime* date = g_mime_message_get_date(message.get()); date != nullptr) {
        email.date = core::FormatIso8601(static_cast<std::int64_t>(g_date_time_to_unix(date)) * 1000);
    }
    GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message.get()));
    const int header_count = headers != nullptr ? g_mime_header_list_get_count(headers) : 0;
    for (int i = 0; i < header_count; ++i) {
        GMimeHeader* header = g_mime_header_list_get_header_at(headers, i);
        email.headers.emplace_back(ValidUtf8(g_mime_header_get_name(header)),
                                   ValidUtf8(g_mime_header_get_value(header)));
    }
    Walker{email, options}.Walk(g_mime_message_get_mime_part(message.get()), 0);
    return email;
}

core::Result<std::string> ComposeMessage(const OutgoingEmail& email, const ComposeOptions& options) {
    if (!IsAddrSpec(email.from.address)) {
        return core::InvalidArgument("from: not an email address: \"" + email.from.address + "\"");
    }
    if (email.to.empty() && email.cc.empty() && email.bcc.empty()) {
        return core::InvalidArgument("no recipient: give at least one to, cc or bcc address");
    }
    for (const auto& [addresses, field] : {std::pair{&email.to, "to"}, std::pair{&email.cc, "cc"},
                                           std::pair{&email.bcc, "bcc"}, std::pair{&email.reply_to, "reply-to"}}) {
        if (auto checked = CheckAddresses(*addresses, field); !checked) return checked.error();
    }
    for (const auto& [name, value] : email.headers) {
        if (!IsHeaderToken(name)) return core::InvalidArgument("header name \"" + name + "\" is not a token");
        if (IsComposerHeader(name)) {
            return core::InvalidArgument("header \"" + name + "\" is written by the composer; use its field");
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
            return core::InvalidArgument("header \"" + name + "\": the value contains a line break");
        }
    }
    if (!options.message_id.empty() && !IsAddrSpec(options.message_id)) {
        return core::InvalidArgument("message id must look like local@domain, without angle brackets");
    }

    EnsureGMime();
    GPtr<GMimeMessage> message(g_mime_message_new(TRUE));
    AddMailboxes(message.get(), GMIME_ADDRESS_TYPE_FROM, {email.from});
    AddMailboxes(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO, email.reply_to);
    AddMailboxes(message.get(), GMIME_ADDRESS_TYPE_TO, email.to);
    AddMailboxes(message.get(), GMIME_ADDRESS_TYPE_CC, email.cc);
    const std::string subject = OneLine(ValidUtf8(email.subject.data(), email.subject.size()));
    g_mime_message_set_subject(message.get(), subject.c_str(), "utf-8");

    const auto when = options.date.value_or(std::chrono::system_clock::now());
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
    GDateTime* date = g_date_time_new_from_unix_utc(static_cast<gint64>(seconds));
    g_mime_message_set_date(message.get(), date);
    g_date_time_unref(date);
    const std::string message_id = options.message_id.empty() ? NewMessageId(email.from.address) : options.message_id;
    g_mime_message_set_message_id(message.get(), message_id.c_str());
    for (const auto& [name, value] : email.headers) {
        const std::string valid = ValidUtf8(value.data(), value.size());
        g_mime_object_append_header(GMIME_OBJECT(message.get()), name.c_str(), valid.c_str(), "utf-8");
    }
    g_mime_message_set_mime_part(message.get(), Body(email).get());

    GMimeFormatOptions* format = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
    GChars raw(g_mime_object_to_string(GMIME_OBJECT(message.get()), format));
    g_mime_format_options_free(format);
    if (!raw) return core::Internal("GMime could not write the message");
    return std::string(raw.get());
}

std::string NewMessageId(std::string_view from_address) {
    core::SodiumRandom random;
    const std::string bytes = random.Bytes(16);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char c : bytes) {
        id += kHex[c >> 4];
        id += kHex[c & 0xf];
    }
    const auto at = from_address.rfind('@');
    const std::string_view domain =
        at == std::string_view::npos ? std::string_view("localhost") : from_address.substr(at + 1);
    return id + "@" + std::string(domain);
}

std::vector<std::string> EnvelopeRecipients(const OutgoingEmail& email) {
    std::vector<std::string> out;
    std::vector<std::string> seen;
    for (const auto* list : {&email.to, &email.cc, &email.bcc}) {
        for (const auto& a : *list) {
            std::string key = Lower(a.address);
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
            seen.push_back(std::move(key));
            out.push_back(a.address);
        }
    }
    return out;
}

core::Result<std::vector<Address>> ParseAddressList(std::string_view text) {
    std::vector<Address> out;
    const std::string input = SemicolonsAsCommas(text);
    if (input.find_first_not_of(" \t\r\n,") == std::string::npos) return out;
    EnsureGMime();
    GPtr<InternetAddressList> list(internet_address_list_parse(nullptr, input.c_str()));
    if (!list) return core::InvalidArgument("not an address list: \"" + input + "\"");
    AppendMailboxes(list.get(), out);
    if (out.empty()) return core::InvalidArgument("no email address in \"" + input + "\"");
    if (auto checked = CheckAddresses(out, "address"); !checked) return checked.error();
    return out;
}

}  // namespace switchboard::mail
