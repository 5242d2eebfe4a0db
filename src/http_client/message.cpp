#include "http_client/message.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include <cctype>

namespace switchboard::http_client {

namespace {

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

core::Error UpstreamError(std::string message, std::string detail) {
    return core::Error::Make(core::Errc::kUpstreamError, std::move(message), std::move(detail));
}

bool IsTimedOut(const core::Error& error) {
    return error.code == core::Errc::kUpstreamError && error.message == kTimedOut;
}

bool HasHeader(const Headers& headers, std::string_view name) {
    for (const auto& header : headers) {
        if (HeaderNameEquals(header.first, name)) return true;
    }
    return false;
}

bool HeaderNameEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string ToLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<std::string_view> Response::HeaderValue(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (HeaderNameEquals(key, name)) return std::string_view(value);
    }
    return std::nullopt;
}

std::vector<std::string_view> Response::HeaderValues(std::string_view name) const {
    std::vector<std::string_view> values;
    for (const auto& [key, value] : headers) {
        if (HeaderNameEquals(key, name)) values.emplace_back(value);
    }
    return values;
}

std::string Response::MediaType() const {
    const auto content_type = HeaderValue("content-type");
    if (!content_type) return {};
    std::string_view type = *content_type;
    type = Trim(type.substr(0, type.find(';')));
    return ToLower(type);
}

bool Response::IsJson() const {
    const std::string type = MediaType();
    if (type == "application/json") return true;
    return type.starts_with("application/") && type.ends_with("+json");
}

core::Result<boost::json::value> Response::Json() const {
    if (!IsJson()) {
        const std::string type = MediaType();
        return UpstreamError("response is not JSON",
                             fmt::format("content type is '{}'", type.empty() ? "(none)" : type));
    }
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(body, ec);
    if (ec) return UpstreamError("response is not valid JSON", ec.message());
    return value;
}

std::string LogEntry::Summary() const {
    if (!error.empty()) {
        return fmt::format("{} {} -> failed in {} ms: {}", method, url, elapsed.count(), error);
    }
    std::string line =
        fmt::format("{} {} -> {} ({} bytes) in {} ms", method, url, status, response_bytes, elapsed.count());
    if (redirects > 0) line += fmt::format(" after {} redirect(s) to {}", redirects, final_url);
    return line;
}

}  // namespace switchboard::http_client
