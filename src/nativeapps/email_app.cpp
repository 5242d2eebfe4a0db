#include "nativeapps/email_app.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "core/encoding.hpp"
#include "iml/values.hpp"
#include "mail/mime.hpp"
#include "mail/smtp.hpp"
#include "nativeapps/module_input.hpp"

namespace switchboard::nativeapps {

namespace json = boost::json;
using core::Result;
using engine::Failure;
using engine::ModuleCall;
using engine::ModuleOutcome;

namespace {

json::object AddressJson(const mail::Address& a) { return json::object{{"name", a.name}, {"address", a.address}}; }

json::array AddressesJson(const std::vector<mail::Address>& list) {
    json::array out;
    for (const auto& a : list) out.push_back(AddressJson(a));
    return out;
}

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Every module of the app needs its connection; the runner guarantees one, this guards direct calls.
Result<mail::ServerSettings> SettingsOf(const ModuleCall& call, const NativeAppsOptions& options) {
    const json::object* params = ConnectionParameters(call);
    if (params == nullptr) return core::Unauthenticated("the module has no connection");
    return MailSettings(*params, options);
}

ModuleOutcome Failed(Failure f) {
    ModuleOutcome out;
    out.failure = std::move(f);
    return out;
}

// The settings failure of a stored connection: its fields are wrong, so the connection needs fixing.
Failure SettingsFailure(const ModuleCall& call, const core::Error& e) {
    if (e.code == core::Errc::kUnauthenticated) {
        return Failure(engine::errors::kAccountValidation, e.detail);
    }
    return Failure(engine::errors::kInvalidConfiguration, Clean(call, "the connection's settings: " + e.detail));
}

Result<std::uint32_t> UidOf(const ModuleCall& call) {
    auto uid = IntegerField(call, "uid", 1, std::numeric_limits<std::uint32_t>::max());
    if (!uid) return uid.error();
    if (!*uid) return core::InvalidArgument("uid is required (the uid output of Watch emails)");
    return static_cast<std::uint32_t>(**uid);
}

ModuleOutcome WatchEmails(ModuleCall& call, const NativeAppsOptions& options) {
    auto settings = SettingsOf(call, options);
    if (!settings) return Failed(SettingsFailure(call, settings.error()));
    const std::string folder = TextField(call, "folder").empty() ? "INBOX" : TextField(call, "folder");
    mail::SearchCriteria criteria;
    const std::string read = TextField(call, "criteria");
    if (read == "unread") {
        criteria.read = mail::ReadFilter::kUnread;
    } else if (read == "read") {
        criteria.read = mail::ReadFilter::kRead;
    } else if (!read.empty() && read != "all") {
        return Failed(BadInput("criteria must be all or unread, not \"" + read + "\""));
    }
    criteria.from_contains = TextField(call, "from");
    criteria.subject_contains = TextField(call, "subject");
    auto max = IntegerField(call, "maxResults", 1, 100);
    if (!max) return Failed(BadInput(max.error().detail));
    mail::ListOptions list;
    list.max_results = static_cast<std::size_t>(max->value_or(10));

    // A cursor of another folder (the field was edited) means nothing here: start as on a first run.
    std::optional<EmailCursor> stored = call.cursor ? DecodeEmailCursor(*call.cursor) : std::nullopt;
    if (stored && stored->folder != folder) stored.reset();
    const auto* sanitizer = call.env ? call.env->sanitizer.get() : nullptr;
    ModuleOutcome out;
    if (!stored && TextField(call, "startFrom") == "now") {
        auto end = mail::CurrentCursor(*settings, folder);
        if (!end) return Failed(MailFailure(end.error(), sanitizer));
        out.cursor = EncodeEmailCursor({folder, *end});
        return out;
    }
    const mail::Cursor from = stored ? stored->cursor : mail::Cursor{};
    auto listed = mail::ListNew(*settings, folder, criteria, from, list);
    if (!listed) return Failed(MailFailure(listed.error(), sanitizer));
    for (const auto& e : listed->emails) out.bundles.emplace_back(EmailBundle(e, folder));
    out.cursor = EncodeEmailCursor({folder, listed->cursor});
    return out;
}

ModuleOutcome MarkSeen(ModuleCall& call, const NativeAppsOptions& options, bool seen) {
    auto settings = SettingsOf(call, options);
    if (!settings) return Failed(SettingsFailure(call, settings.error()));
    auto uid = UidOf(call);
    if (!uid) return Failed(BadInput(uid.error().detail));
    mail::MessageRef ref;
    ref.folder = TextField(call, "folder").empty() ? "INBOX" : TextField(call, "folder");
    ref.uid = *uid;
    if (auto r = mail::MarkSeen(*settings, ref, seen); !r) {
        return Failed(MailFailure(r.error(), call.env ? call.env->sanitizer.get() : nullptr));
    }
    ModuleOutcome out;
    out.bundles.emplace_back(json::object{{"uid", ref.uid}, {"folder", ref.folder}, {"seen", seen}});
    return out;
}

ModuleOutcome MoveEmail(ModuleCall& call, const NativeAppsOptions& options) {
    auto settings = SettingsOf(call, options);
    if (!settings) return Failed(SettingsFailure(call, settings.error()));
    auto uid = UidOf(call);
    if (!uid) return Failed(BadInput(uid.error().detail));
    const std::string destination = TextField(call, "destination");
    if (destination.empty()) return Failed(BadInput("destination is required"));
    mail::MessageRef ref;
    ref.folder = TextField(call, "folder").empty() ? "INBOX" : TextField(call, "folder");
    ref.uid = *uid;
    if (auto r = mail::Move(*settings, ref, destination); !r) {
        return Failed(MailFailure(r.error(), call.env ? call.env->sanitizer.get() : nullptr));
    }
    ModuleOutcome out;
    out.bundles.emplace_back(json::object{{"uid", ref.uid}, {"folder", ref.folder}, {"destination", destination}});
    return out;
}

ModuleOutcome SendEmail(ModuleCall& call, const NativeAppsOptions& options) {
    auto settings = SettingsOf(call, options);
    if (!settings) return Failed(SettingsFailure(call, settings.error()));
    mail::OutgoingEmail email;
    // From: as given, else the connection's user name when it is an address.
    std::string from = TextField(call, "from");
    if (from.empty() && settings->username.find('@') != std::string::npos) from = settings->username;
    if (from.empty()) return Failed(BadInput("from is required (the connection's user name is not an address)"));
    auto senders = mail::ParseAddressList(from);
    if (!senders || senders->size() != 1) {
        return Failed(BadInput("from must be one address, not \"" + from + "\""));
    }
    email.from = senders->front();
    struct List {
        std::string_view field;
        std::vector<mail::Address>* target;
    };
    for (const List& l :
         {List{"to", &email.to}, List{"cc", &email.cc}, List{"bcc", &email.bcc}, List{"replyTo", &email.reply_to}}) {
        const json::value* v = Field(call, l.field);
        if (v == nullptr) continue;
        auto parsed = AddressesOf(*v, l.field);
        if (!parsed) return Failed(BadInput(parsed.error().detail));
        *l.target = std::move(*parsed);
    }
    if (email.to.empty() && email.cc.empty() && email.bcc.empty()) {
        return Failed(BadInput("to is required: at least one recipient"));
    }
    email.subject = TextField(call, "subject");
    email.text = TextField(call, "text");
    email.html = TextField(call, "html");
    if (const json::value* a = Field(call, "attachments")) {
        auto attachments = AttachmentsOf(*a);
        if (!attachments) return Failed(BadInput(attachments.error().detail));
        email.attachments = std::move(*attachments);
    }
    auto receipt = mail::SendEmail(*settings, email);
    if (!receipt) return Failed(MailFailure(receipt.error(), call.env ? call.env->sanitizer.get() : nullptr));
    json::array recipients;
    for (const auto& r : mail::EnvelopeRecipients(email)) recipients.emplace_back(r);
    ModuleOutcome out;
    out.bundles.emplace_back(json::object{{"messageId", receipt->message_id},
                                          {"response", receipt->server_reply},
                                          {"recipients", std::move(recipients)}});
    return out;
}

}  // namespace

Result<mail::ServerSettings> MailSettings(const json::object& parameters, const NativeAppsOptions& options) {
    mail::ServerSettings s;
    s.host = TextOf(parameters, "host");
    if (s.host.empty()) return core::InvalidArgument("host is required");
    if (const auto* p = parameters.if_contains("port");
        p && !p->is_null() && !(p->is_string() && p->as_string() == "")) {
        const std::string text = iml::ToText(*p);
        int port = -1;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
        if (ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
            return core::InvalidArgument("port must be a number from 0 to 65535, not " + text);
        }
        s.port = port;
    }
    const std::string security = TextOf(parameters, "security");
    if (security.empty() || security == "tls") {
        s.security = mail::Security::kTls;
    } else if (security == "starttls") {
        s.security = mail::Security::kStartTls;
    } else if (security == "none") {
        s.security = mail::Security::kNone;
    } else {
        return core::InvalidArgument("security must be tls, starttls or none, not \"" + security + "\"");
    }
    s.username = TextOf(parameters, "username");
    s.password = core::Secret(TextOf(parameters, "password"));
    if (const auto* v = parameters.if_contains("verifyCertificate"); v && !v->is_null()) {
        s.verify_tls_certificate = !(v->is_bool() ? !v->as_bool() : iml::ToText(*v) == "false");
    }
    s.allow_private_network = options.allow_private_network;
    s.connect_timeout = options.connect_timeout;
    s.timeout = options.timeout;
    return s;
}

std::string EncodeEmailCursor(const EmailCursor& cursor) {
    return json::serialize(json::object{
        {"folder", cursor.folder}, {"uidvalidity", cursor.cursor.uidvalidity}, {"lastUid", cursor.cursor.last_uid}});
}

std::optional<EmailCursor> DecodeEmailCursor(std::string_view text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    const auto* folder = o.if_contains("folder");
    const auto* validity = o.if_contains("uidvalidity");
    const auto* last = o.if_contains("lastUid");
    if (!folder || !folder->is_string() || !validity || !last) return std::nullopt;
    auto u32 = [](const json::value& n) -> std::optional<std::uint32_t> {
        if (n.is_uint64() && n.as_uint64() <= std::numeric_limits<std::uint32_t>::max()) {
            return static_cast<std::uint32_t>(n.as_uint64());
        }
        if (n.is_int64() && n.as_int64() >= 0 && n.as_int64() <= std::numeric_limits<std::uint32_t>::max()) {
            return static_cast<std::uint32_t>(n.as_int64());
        }
        return std::nullopt;
    };
    auto uv = u32(*validity);
    auto lu = u32(*last);
    if (!uv || !lu) return std::nullopt;
    return EmailCursor{std::string(folder->as_string()), mail::Cursor{*uv, *lu}};
}

json::object EmailBundle(const mail::ListedEmail& listed, const std::string& folder) {
    const mail::Email& e = listed.email;
    // Headers by lower-case name; a repeated name (Received, …) gives an array in message order.
    json::object headers;
    for (const auto& [name, value] : e.headers) {
        const std::string key = Lower(name);
        if (auto* existing = headers.if_contains(key)) {
            if (!existing->is_array()) *existing = json::array{*existing};
            existing->as_array().emplace_back(value);
        } else {
            headers[key] = value;
        }
    }
    json::array attachments;
    for (const auto& a : e.attachments) {
        attachments.push_back(json::object{{"fileName", a.filename},
                                           {"contentType", a.content_type},
                                           {"size", a.size},
                                           {"data", core::Base64Encode(a.data)},
                                           {"contentId", a.content_id},
                                           {"inline", a.is_inline}});
    }
    json::array flags;
    for (const auto& f : listed.flags) flags.emplace_back(f);
    return json::object{{"sender", AddressJson(e.from)},
                        {"to", AddressesJson(e.to)},
                        {"cc", AddressesJson(e.cc)},
                        {"replyTo", AddressesJson(e.reply_to)},
                        {"subject", e.subject},
                        {"date", e.date.empty() ? json::value(nullptr) : json::value(e.date)},
                        {"text", e.text},
                        {"html", e.html},
                        {"headers", std::move(headers)},
                        {"attachments", std::move(attachments)},
                        {"messageId", e.message_id},
                        {"uid", listed.uid},
                        {"folder", folder},
                        {"seen", listed.seen},
                        {"flags", std::move(flags)},
                        {"size", listed.size},
                        {"truncated", listed.truncated}};
}

Result<std::vector<mail::Address>> AddressesOf(const json::value& value, std::string_view field) {
    std::vector<mail::Address> out;
    auto add_text = [&](std::string_view text, const std::string& where) -> Result<void> {
        if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
        auto parsed = mail::ParseAddressList(text);
        if (!parsed) return core::InvalidArgument(where + ": " + parsed.error().detail);
        out.insert(out.end(), parsed->begin(), parsed->end());
        return {};
    };
    const std::string name(field);
    if (value.is_null()) return out;
    if (value.is_string()) {
        if (auto r = add_text(value.as_string(), name); !r) return r.error();
        return out;
    }
    if (!value.is_array()) return core::InvalidArgument(name + " must be a list of addresses or a text");
    const auto& items = value.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string where = name + "[" + std::to_string(i) + "]";
        const json::value& item = items[i];
        if (item.is_string()) {
            if (auto r = add_text(item.as_string(), where); !r) return r.error();
        } else if (item.is_object()) {
            // {"name", "address"} as Watch emails outputs it ({"email"} is accepted for the address).
            std::string address = TextOf(item.as_object(), "address");
            if (address.empty()) address = TextOf(item.as_object(), "email");
            auto parsed = mail::ParseAddressList(address);
            if (!parsed || parsed->size() != 1) {
                return core::InvalidArgument(where + ": \"" + address + "\" is not an email address");
            }
            mail::Address a = parsed->front();
            a.name = TextOf(item.as_object(), "name");
            out.push_back(std::move(a));
        } else if (!item.is_null()) {
            return core::InvalidArgument(where + " must be an address");
        }
    }
    return out;
}

Result<std::vector<mail::OutgoingAttachment>> AttachmentsOf(const json::value& value) {
    std::vector<mail::OutgoingAttachment> out;
    if (value.is_null()) return out;
    if (!value.is_array()) return core::InvalidArgument("attachments must be a list of {fileName, data, contentType}");
    const auto& items = value.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string where = "attachments[" + std::to_string(i) + "]";
        if (!items[i].is_object()) return core::InvalidArgument(where + " must be {fileName, data, contentType}");
        const auto& o = items[i].as_object();
        mail::OutgoingAttachment a;
        a.filename = TextOf(o, "fileName");
        if (a.filename.empty()) a.filename = TextOf(o, "filename");
        if (a.filename.empty()) return core::InvalidArgument(where + ".fileName is required");
        // Base64 as Watch emails gives it; line breaks and spaces (MIME-style wrapping) are ignored.
        std::string encoded = TextOf(o, "data");
        std::erase_if(encoded, [](char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t'; });
        auto data = core::Base64Decode(encoded);
        if (!data) return core::InvalidArgument(where + ".data must be base64 (as Watch emails outputs it)");
        a.data = std::move(*data);
        const std::string type = TextOf(o, "contentType");
        if (!type.empty()) a.content_type = type;
        out.push_back(std::move(a));
    }
    return out;
}

Failure MailFailure(const core::Error& error, const http_client::Sanitizer* sanitizer) {
    std::string message = error.detail.empty() ? error.message : error.detail;
    if (sanitizer) message = sanitizer->Text(message, 2000);
    using core::Errc;
    namespace errors = engine::errors;
    switch (error.code) {
        case Errc::kUnauthenticated:
            return Failure(errors::kAccountValidation, std::move(message));
        case Errc::kUnavailable: {
            const bool timeout =
                message.find("imeout") != std::string::npos || message.find("timed out") != std::string::npos;
            return Failure(timeout ? errors::kModuleTimeout : errors::kConnection, std::move(message));
        }
        case Errc::kPermissionDenied:
            return Failure(errors::kInvalidConfiguration, std::move(message));
        case Errc::kInvalidArgument:
            return Failure(errors::kBundleValidation, std::move(message));
        case Errc::kNotFound:
        case Errc::kUpstreamError:
        case Errc::kPayloadTooLarge:
            return Failure(errors::kData, std::move(message));
        default:
            return Failure(errors::kRuntime, std::move(message));
    }
}

void RegisterEmailModules(engine::ModuleRegistry& registry, const NativeAppsOptions& options) {
    using catalog::ModuleType;
    // type, connection_app and scope come from apps/email.json (the definition wins); these mirror it.
    auto add = [&](const char* name, ModuleType type, auto fn) {
        // Its client blocks its thread: `blocks` (engine/module.hpp).
        registry.Add({name, type, "email", {}, [options, fn](ModuleCall& call) { return fn(call, options); }, true});
    };
    add("email:watchEmails", ModuleType::kTrigger, WatchEmails);
    add("email:markAsRead", ModuleType::kAction,
        [](ModuleCall& call, const NativeAppsOptions& o) { return MarkSeen(call, o, true); });
    add("email:markAsUnread", ModuleType::kAction,
        [](ModuleCall& call, const NativeAppsOptions& o) { return MarkSeen(call, o, false); });
    add("email:moveEmail", ModuleType::kAction, MoveEmail);
    add("email:sendEmail", ModuleType::kAction, SendEmail);
}

}  // namespace switchboard::nativeapps
