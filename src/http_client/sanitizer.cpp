#include "http_client/sanitizer.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <array>
#include <variant>

#include "core/encoding.hpp"
#include "http_client/url.hpp"

namespace switchboard::http_client {

namespace {

constexpr std::array<std::string_view, 7> kSensitiveHeaders = {
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "api-key",
};
// Field names hidden in every query string, form and JSON body (at any depth), whatever the app declares.
constexpr std::array<std::string_view, 10> kSensitiveKeys = {
    "password",      "passwd",   "secret",  "client_secret", "access_token",
    "refresh_token", "id_token", "api_key", "apikey",        "token",
};
// Encoded secret forms shorter than this are not searched for (they would match unrelated text); the raw
// value and its full encodings always are.
constexpr std::size_t kMinAlignedBase64 = 4;

bool Contains(const std::vector<std::string>& names, std::string_view name) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return HeaderNameEquals(n, name); });
}

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
    return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return HeaderNameEquals(n, name); });
}

std::string LowerHex(std::string encoded) {
    for (std::size_t i = 0; i + 2 < encoded.size(); ++i) {
        if (encoded[i] != '%') continue;
        for (std::size_t j = i + 1; j <= i + 2; ++j) {
            if (encoded[j] >= 'A' && encoded[j] <= 'F') encoded[j] = static_cast<char>(encoded[j] - 'A' + 'a');
        }
        i += 2;
    }
    return encoded;
}

std::string ToBase64Url(std::string text) {
    for (char& c : text) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    while (!text.empty() && text.back() == '=') text.pop_back();
    return text;
}

// Every textual form in which a secret can show up in a request, a response or a message.
std::vector<std::string> EncodedForms(std::string_view secret) {
    std::vector<std::string> forms;
    forms.emplace_back(secret);
    forms.push_back(PercentEncode(secret));
    forms.push_back(LowerHex(PercentEncode(secret)));
    forms.push_back(FormEncode(secret));
    forms.push_back(LowerHex(FormEncode(secret)));
    const std::string json = boost::json::serialize(boost::json::string(secret));
    forms.push_back(json.substr(1, json.size() - 2));
    const std::string base64 = core::Base64Encode(secret);
    forms.push_back(base64);
    forms.push_back(ToBase64Url(base64));
    // The secret inside a longer base64 text starts at byte offset 0, 1 or 2 of a 3-byte group. For each
    // alignment, the characters whose 6 bits all come from the secret are the same whatever surrounds it.
    for (std::size_t offset = 0; offset < 3; ++offset) {
        std::string shifted(offset, '\0');
        shifted.append(secret);
        const std::string encoded = core::Base64Encode(shifted);
        const std::size_t first = (8 * offset + 5) / 6;
        const std::size_t last = 8 * (offset + secret.size()) / 6;
        if (last <= first || last - first < kMinAlignedBase64) continue;
        const std::string core_chars = encoded.substr(first, last - first);
        forms.push_back(core_chars);
        forms.push_back(ToBase64Url(core_chars));
    }
    return forms;
}

bool LooksTextual(std::string_view media_type, std::string_view body) {
    if (media_type.empty()) return body.substr(0, 512).find('\0') == std::string_view::npos;
    if (media_type.starts_with("text/")) return true;
    for (std::string_view suffix :
         {"/json", "+json", "/xml", "+xml", "/x-www-form-urlencoded", "/javascript", "/graphql", "/x-ndjson"}) {
        if (media_type.ends_with(suffix)) return true;
    }
    return false;
}

bool IsJsonType(std::string_view media_type) {
    return media_type == "application/json" ||
           (media_type.starts_with("application/") && media_type.ends_with("+json"));
}

void MaskPath(boost::json::value& value, const std::vector<std::string>& path, std::size_t index) {
    if (index == path.size()) {
        value = Sanitizer::kRedacted;
        return;
    }
    if (auto* array = value.if_array()) {
        for (auto& element : *array) MaskPath(element, path, index);
    } else if (auto* object = value.if_object()) {
        if (auto* child = object->if_contains(path[index])) MaskPath(*child, path, index + 1);
    }
}

void MaskSensitiveKeys(boost::json::value& value) {
    if (auto* array = value.if_array()) {
        for (auto& element : *array) MaskSensitiveKeys(element);
    } else if (auto* object = value.if_object()) {
        for (auto& member : *object) {
            if (Contains(kSensitiveKeys, member.key())) {
                member.value() = Sanitizer::kRedacted;
            } else {
                MaskSensitiveKeys(member.value());
            }
        }
    }
}

bool HidesWholeBody(const std::vector<std::vector<std::string>>& paths) {
    return std::any_of(paths.begin(), paths.end(), [](const auto& path) { return path.empty(); });
}

bool NamesField(const std::vector<std::vector<std::string>>& paths, std::string_view field) {
    return std::any_of(paths.begin(), paths.end(),
                       [&](const auto& path) { return path.size() == 1 && HeaderNameEquals(path[0], field); });
}

std::vector<std::string> Split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return parts;
}

std::size_t BodyBytes(const Body& body) {
    struct Visitor {
        std::size_t operator()(const NoBody&) const { return 0; }
        std::size_t operator()(const JsonBody& b) const { return boost::json::serialize(b.value).size(); }
        std::size_t operator()(const FormBody& b) const { return EncodeForm(b.fields).size(); }
        std::size_t operator()(const MultipartBody& b) const {
            std::size_t total = 0;
            for (const auto& [name, value] : b.fields) total += name.size() + value.size();
            for (const auto& file : b.files) total += file.name.size() + file.data.size();
            return total;
        }
        std::size_t operator()(const RawBody& b) const { return b.data.size(); }
    };
    return std::visit(Visitor{}, body);
}

}  // namespace

core::Result<SanitizeRules> SanitizeRules::FromPaths(const std::vector<std::string>& paths) {
    SanitizeRules rules;
    for (const std::string& path : paths) {
        const std::vector<std::string> segments = Split(path, '.');
        const auto invalid = [&] {
            return core::InvalidArgument(
                fmt::format("log.sanitize entry '{}' must be request.headers.<name>, response.headers.<name>, "
                            "request.qs.<name>, request.body[.<key>…] or response.body[.<key>…]",
                            path));
        };
        if (segments.size() < 2) return invalid();
        if (std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); })) {
            return invalid();
        }
        const std::string& side = segments[0];
        const std::string& part = segments[1];
        if (side != "request" && side != "response") return invalid();
        // A header or query name may itself contain dots: it is everything after the second dot.
        const std::size_t name_start = side.size() + part.size() + 2;
        const std::string name = path.size() > name_start ? path.substr(name_start) : std::string();
        if (part == "headers") {
            if (name.empty()) return invalid();
            (side == "request" ? rules.request_headers : rules.response_headers).push_back(ToLower(name));
        } else if ((part == "qs" || part == "query") && side == "request") {
            if (name.empty()) return invalid();
            rules.query_keys.push_back(name);
        } else if (part == "body") {
            std::vector<std::string> key_path(segments.begin() + 2, segments.end());
            (side == "request" ? rules.request_body : rules.response_body).push_back(std::move(key_path));
        } else {
            return invalid();
        }
    }
    return rules;
}

Sanitizer::Sanitizer() = default;

Sanitizer::Sanitizer(std::vector<core::Secret> secrets, SanitizeRules rules, std::size_t max_body_bytes)
    : rules_(std::move(rules)), max_body_bytes_(max_body_bytes) {
    for (const core::Secret& secret : secrets) {
        if (secret.empty()) continue;
        for (std::string& form : EncodedForms(secret.Reveal())) {
            const bool known = std::any_of(patterns_.begin(), patterns_.end(),
                                           [&](const core::Secret& p) { return p.Reveal() == form; });
            if (!form.empty() && !known) {
                longest_pattern_ = std::max(longest_pattern_, form.size());
                patterns_.emplace_back(std::move(form));
            }
        }
    }
}

std::vector<Sanitizer::Span> Sanitizer::FindSecrets(std::string_view text) const {
    std::vector<Span> spans;
    for (const core::Secret& pattern : patterns_) {
        const std::string_view needle = pattern.Reveal();
        for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
            spans.emplace_back(at, at + needle.size());
        }
    }
    std::sort(spans.begin(), spans.end());
    std::vector<Span> merged;
    for (const Span& span : spans) {
        if (!merged.empty() && span.first <= merged.back().second) {
            merged.back().second = std::max(merged.back().second, span.second);
        } else {
            merged.push_back(span);
        }
    }
    return merged;
}

std::string Sanitizer::Text(std::string_view text) const { return Text(text, std::string_view::npos); }

std::string Sanitizer::Text(std::string_view text, std::size_t max_bytes) const {
    // Search a window long enough to see every secret that starts before the cut; then move the cut past any
    // redaction it would split. Nothing after the cut is output, so a secret cut in half never shows.
    const bool cut = max_bytes < text.size();
    const std::size_t window = cut ? std::min(text.size(), max_bytes + longest_pattern_) : text.size();
    const std::vector<Span> spans = FindSecrets(text.substr(0, window));
    std::size_t end = cut ? max_bytes : text.size();
    for (const Span& span : spans) {
        if (span.first < end && span.second > end) end = span.second;
    }
    std::string out;
    std::size_t position = 0;
    for (const Span& span : spans) {
        if (span.first >= end) break;
        out.append(text.substr(position, span.first - position));
        out.append(kRedacted);
        position = span.second;
    }
    if (position < end) out.append(text.substr(position, end - position));
    if (end < text.size()) out += fmt::format("...[{} more bytes]", text.size() - end);
    return out;
}

bool Sanitizer::ContainsSecret(std::string_view text) const {
    return std::any_of(patterns_.begin(), patterns_.end(),
                       [&](const core::Secret& p) { return text.find(p.Reveal()) != std::string_view::npos; });
}

bool Sanitizer::IsSensitiveKey(std::string_view key) const { return Contains(kSensitiveKeys, key); }

bool Sanitizer::IsSensitiveQueryKey(std::string_view key) const {
    return IsSensitiveKey(key) || Contains(rules_.query_keys, key);
}

std::string Sanitizer::Url(std::string_view url) const {
    std::string_view rest = url.substr(0, url.find('#'));
    std::string out;
    // user:password@ (refused when sending, but an invalid URL may still be logged)
    if (const std::size_t scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
        const std::size_t authority_start = scheme_end + 3;
        const std::size_t authority_end = std::min(rest.find_first_of("/?", authority_start), rest.size());
        const std::string_view authority = rest.substr(authority_start, authority_end - authority_start);
        out.append(rest.substr(0, authority_start));
        if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
            out.append(kRedacted);
            out.append(authority.substr(at));
        } else {
            out.append(authority);
        }
        rest = rest.substr(authority_end);
    }
    const std::size_t query_start = rest.find('?');
    out.append(rest.substr(0, query_start));
    if (query_start != std::string_view::npos) {
        out += '?';
        bool first = true;
        for (const std::string& pair : Split(rest.substr(query_start + 1), '&')) {
            if (!first) out += '&';
            first = false;
            const std::size_t equals = pair.find('=');
            const std::string_view key = std::string_view(pair).substr(0, equals);
            if (equals != std::string::npos && IsSensitiveQueryKey(PercentDecode(key, true))) {
                out.append(key);
                out += '=';
                out.append(kRedacted);
            } else {
                out.append(pair);
            }
        }
    }
    return Text(out);
}

bool Sanitizer::IsSensitiveRequestHeader(std::string_view name) const {
    return Contains(kSensitiveHeaders, name) || Contains(rules_.request_headers, name);
}

Headers Sanitizer::RequestHeaders(const Headers& headers) const {
    Headers out;
    out.reserve(headers.size());
    for (const auto& [name, value] : headers) {
        out.emplace_back(name,
                         IsSensitiveRequestHeader(name) ? std::string(kRedacted) : Text(value, kMaxHeaderValueBytes));
    }
    return out;
}

Headers Sanitizer::ResponseHeaders(const Headers& headers) const {
    Headers out;
    out.reserve(headers.size());
    for (const auto& [name, value] : headers) {
        const bool sensitive = Contains(kSensitiveHeaders, name) || Contains(rules_.response_headers, name);
        out.emplace_back(name, sensitive ? std::string(kRedacted) : Text(value, kMaxHeaderValueBytes));
    }
    return out;
}

std::string Sanitizer::MaskForm(std::string_view encoded, const std::vector<std::vector<std::string>>& paths) const {
    // Re-encoded field by field so that a masked value reads "[redacted]", not "%5Bredacted%5D".
    std::string out;
    for (const std::string& pair : Split(encoded, '&')) {
        if (pair.empty()) continue;
        if (!out.empty()) out += '&';
        const std::size_t equals = pair.find('=');
        const std::string name = PercentDecode(std::string_view(pair).substr(0, equals), true);
        out += FormEncode(name);
        if (equals == std::string::npos) continue;
        out += '=';
        if (IsSensitiveKey(name) || NamesField(paths, name)) {
            out += kRedacted;
        } else {
            out += FormEncode(PercentDecode(std::string_view(pair).substr(equals + 1), true));
        }
    }
    return Text(out, max_body_bytes_);
}

std::string Sanitizer::MaskJson(std::string_view json, const std::vector<std::vector<std::string>>& paths) const {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(json, ec);
    if (ec) return Text(json, max_body_bytes_);
    MaskSensitiveKeys(value);
    for (const auto& path : paths) MaskPath(value, path, 0);
    return Text(boost::json::serialize(value), max_body_bytes_);
}

std::string Sanitizer::RequestBody(const Body& body) const {
    const auto& paths = rules_.request_body;
    if (!std::holds_alternative<NoBody>(body) && HidesWholeBody(paths)) return std::string(kRedacted);
    struct Visitor {
        const Sanitizer& self;
        const std::vector<std::vector<std::string>>& paths;
        std::string operator()(const NoBody&) const { return {}; }
        std::string operator()(const JsonBody& b) const {
            return self.MaskJson(boost::json::serialize(b.value), paths);
        }
        std::string operator()(const FormBody& b) const { return self.MaskForm(EncodeForm(b.fields), paths); }
        std::string operator()(const MultipartBody& b) const {
            std::string out;
            for (const auto& [name, value] : b.fields) {
                const bool hide = self.IsSensitiveKey(name) || NamesField(paths, name);
                out += fmt::format("{}={}\n", name, hide ? kRedacted : std::string_view(value));
            }
            for (const FilePart& file : b.files) {
                out += fmt::format("{}=<file \"{}\", {}, {} bytes>\n", file.name, file.filename,
                                   file.content_type.empty() ? "application/octet-stream" : file.content_type,
                                   file.data.size());
            }
            return self.Text(out, self.max_body_bytes_);
        }
        std::string operator()(const RawBody& b) const {
            const std::string type = ToLower(b.content_type.substr(0, b.content_type.find(';')));
            if (b.data.empty()) return {};
            if (IsJsonType(type)) return self.MaskJson(b.data, paths);
            if (type == "application/x-www-form-urlencoded") return self.MaskForm(b.data, paths);
            if (type.empty() || !LooksTextual(type, b.data)) {
                return fmt::format("<{} bytes of {}>", b.data.size(), type.empty() ? "application/octet-stream" : type);
            }
            return self.Text(b.data, self.max_body_bytes_);
        }
    };
    return std::visit(Visitor{*this, paths}, body);
}

std::string Sanitizer::ResponseBody(std::string_view media_type, std::string_view body) const {
    if (body.empty()) return {};
    if (HidesWholeBody(rules_.response_body)) return std::string(kRedacted);
    const std::string type = ToLower(media_type);
    if (IsJsonType(type)) return MaskJson(body, rules_.response_body);
    if (type == "application/x-www-form-urlencoded") return MaskForm(body, rules_.response_body);
    if (!LooksTextual(type, body)) {
        return fmt::format("<{} bytes of {}>", body.size(), type.empty() ? "binary data" : type);
    }
    return Text(body, max_body_bytes_);
}

LogEntry Sanitizer::Describe(const Request& request, const core::Result<Response>& outcome,
                             std::chrono::milliseconds elapsed) const {
    LogEntry entry;
    entry.method = Text(request.method, 32);
    const core::Result<std::string> url = BuildUrl(request.url, request.query);
    entry.url = Url(url ? std::string_view(*url) : std::string_view(request.url));
    entry.request_headers = RequestHeaders(request.headers);
    entry.request_body = RequestBody(request.body);
    entry.request_bytes = BodyBytes(request.body);
    entry.elapsed = elapsed;
    if (outcome) {
        const Response& response = *outcome;
        entry.final_url = Url(response.url);
        entry.status = response.status;
        entry.response_headers = ResponseHeaders(response.headers);
        entry.response_body = ResponseBody(response.MediaType(), response.body);
        entry.response_bytes = response.body.size();
        entry.redirects = response.redirects;
    } else {
        const core::Error& error = outcome.error();
        entry.error = Text(error.detail.empty() ? error.message : error.message + ": " + error.detail);
    }
    return entry;
}

}  // namespace switchboard::http_client
