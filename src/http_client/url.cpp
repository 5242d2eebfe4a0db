#include "http_client/url.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cctype>

namespace switchboard::http_client {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool IsAlnum(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

void AppendEscaped(std::string& out, unsigned char c) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0x0F];
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool IsHttpScheme(boost::urls::scheme id) {
    return id == boost::urls::scheme::http || id == boost::urls::scheme::https;
}

}  // namespace

std::string PercentEncode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += ch;
        } else {
            AppendEscaped(out, c);
        }
    }
    return out;
}

std::string FormEncode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (IsAlnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
            out += ch;
        } else if (c == ' ') {
            out += '+';
        } else {
            AppendEscaped(out, c);
        }
    }
    return out;
}

std::string EncodeForm(const Fields& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out += '&';
        out += FormEncode(name);
        out += '=';
        out += FormEncode(value);
    }
    return out;
}

std::string PercentDecode(std::string_view text, bool plus_as_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            const int high = HexValue(text[i + 1]);
            const int low = HexValue(text[i + 2]);
            if (high >= 0 && low >= 0) {
                out += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        out += (plus_as_space && c == '+') ? ' ' : c;
    }
    return out;
}

core::Result<std::string> BuildUrl(std::string_view url, const Fields& query) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) return core::InvalidArgument("the URL is not a valid absolute URL");
    boost::urls::url u(*parsed);
    if (!IsHttpScheme(u.scheme_id())) return core::InvalidArgument("only http and https URLs are allowed");
    if (!u.has_authority() || u.encoded_host().empty()) return core::InvalidArgument("the URL has no host");
    if (u.has_userinfo()) {
        return core::InvalidArgument("credentials in the URL (user:password@) are not supported; use a header");
    }
    u.remove_fragment();
    if (u.encoded_path().empty()) u.set_path_absolute(true);
    if (!query.empty()) {
        std::string encoded(u.has_query() ? std::string_view(u.encoded_query()) : std::string_view());
        for (const auto& [name, value] : query) {
            if (!encoded.empty()) encoded += '&';
            encoded += PercentEncode(name);
            encoded += '=';
            encoded += PercentEncode(value);
        }
        u.set_encoded_query(encoded);
    }
    return std::string(u.buffer());
}

std::string Origin(std::string_view url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || !IsHttpScheme(parsed->scheme_id())) return {};
    const bool https = parsed->scheme_id() == boost::urls::scheme::https;
    const std::uint16_t port = parsed->has_port() ? parsed->port_number() : (https ? 443 : 80);
    return fmt::format("{}://{}:{}", https ? "https" : "http", ToLower(std::string_view(parsed->encoded_host())), port);
}

bool IsRedirectStatus(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

core::Result<RedirectStep> ResolveRedirect(std::string_view from_url, std::string_view method, int status,
                                           std::string_view location) {
    auto base = boost::urls::parse_uri(from_url);
    if (!base) return UpstreamError("redirect from an invalid URL");
    auto reference = boost::urls::parse_uri_reference(location);
    if (!reference) return UpstreamError("redirect to an invalid location");
    boost::urls::url target;
    if (auto resolved = boost::urls::resolve(*base, *reference, target); !resolved) {
        return UpstreamError("redirect to an invalid location");
    }
    target.remove_fragment();
    if (!IsHttpScheme(target.scheme_id()))
        return UpstreamError("redirect to a scheme other than http or https refused");
    if (base->scheme_id() == boost::urls::scheme::https && target.scheme_id() == boost::urls::scheme::http) {
        return UpstreamError("redirect from https to http refused");
    }
    if (!target.has_authority() || target.encoded_host().empty())
        return UpstreamError("redirect to a URL without host");
    if (target.has_userinfo()) return UpstreamError("redirect to a URL with credentials refused");
    if (target.encoded_path().empty()) target.set_path_absolute(true);

    RedirectStep step;
    step.url = std::string(target.buffer());
    step.method = std::string(method);
    const bool post = method == "POST";
    if (((status == 301 || status == 302) && post) || (status == 303 && method != "HEAD" && method != "GET")) {
        step.method = "GET";
        step.keep_body = false;
    } else if (status == 303) {
        step.keep_body = false;
    }
    step.same_origin = Origin(from_url) == Origin(step.url);
    return step;
}

}  // namespace switchboard::http_client
