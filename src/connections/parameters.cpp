#include "connections/parameters.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <regex>

namespace switchboard::connections {

namespace json = boost::json;
using core::Result;

namespace {

std::size_t Utf8Length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

constexpr std::size_t kMaxTextBytes = 4096;

std::string Number(double d) {
    if (d == std::floor(d) && std::fabs(d) < 9e15) return std::to_string(static_cast<std::int64_t>(d));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
}

bool LooksLikeEmail(std::string_view s) {
    const auto at = s.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
           s.find('@', at + 1) == std::string_view::npos && s.find_first_of(" \t\r\n") == std::string_view::npos &&
           s.find('.', at) != std::string_view::npos;
}

bool LooksLikeUrl(std::string_view s) {
    return (s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0) && s.size() > 8 &&
           s.find_first_of(" \t\r\n") == std::string_view::npos;
}

// Returns the normalised value, or a message for the field.
std::variant<json::value, std::string> CheckOne(const catalog::Parameter& p, const json::value& v) {
    using catalog::ParamType;
    const auto& val = p.validate;
    switch (p.type) {
        case ParamType::kText:
        case ParamType::kPassword:
        case ParamType::kEmail:
        case ParamType::kUrl: {
            if (!v.is_string()) return std::string("must be a string");
            const std::string_view s = v.as_string();
            if (p.type == ParamType::kEmail && !LooksLikeEmail(s)) return std::string("must be an email address");
            if (p.type == ParamType::kUrl && !LooksLikeUrl(s)) return std::string("must be an http(s) URL");
            const std::size_t len = Utf8Length(s);
            // Patterns run on bounded input only: std::regex recurses per character.
            if (!val.max_length && s.size() > kMaxTextBytes) {
                return "must be at most " + std::to_string(kMaxTextBytes) + " bytes";
            }
            if (val.min_length && len < *val.min_length) {
                return "must be at least " + std::to_string(*val.min_length) + " characters";
            }
            if (val.max_length && len > *val.max_length) {
                return "must be at most " + std::to_string(*val.max_length) + " characters";
            }
            if (s.size() > 64 * 1024) return std::string("is too long");
            if (val.pattern && !std::regex_search(std::string(s), *val.pattern)) {
                return "does not match the expected format " + val.pattern_source;
            }
            return v;
        }
        case ParamType::kNumber: {
            double d = 0;
            if (v.is_number()) {
                d = v.to_number<double>();
            } else if (v.is_string()) {
                const std::string_view s = v.as_string();
                auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
                if (ec != std::errc() || ptr != s.data() + s.size()) return std::string("must be a number");
            } else {
                return std::string("must be a number");
            }
            if (!std::isfinite(d)) return std::string("must be a number");
            if (val.min_value && d < *val.min_value) return "must be at least " + Number(*val.min_value);
            if (val.max_value && d > *val.max_value) return "must be at most " + Number(*val.max_value);
            if (d == std::floor(d) && std::fabs(d) < 9e15) return json::value(static_cast<std::int64_t>(d));
            return json::value(d);
        }
        case ParamType::kBoolean:
            if (v.is_bool()) return v;
            if (v.is_string() && (v.as_string() == "true" || v.as_string() == "false")) {
                return json::value(v.as_string() == "true");
            }
            return std::string("must be true or false");
        case ParamType::kSelect:
            for (const auto& o : p.options) {
                if (o.value == v) return v;
                // A select sent from a form arrives as text: accept the option whose value prints the same.
                if (v.is_string() && !o.value.is_string() && json::serialize(o.value) == v.as_string()) return o.value;
            }
            return std::string("must be one of the listed options");
        case ParamType::kArray: {
            if (!v.is_array()) return std::string("must be an array");
            const std::size_t n = v.as_array().size();
            if (val.min_length && n < *val.min_length)
                return "needs at least " + std::to_string(*val.min_length) + " items";
            if (val.max_length && n > *val.max_length)
                return "takes at most " + std::to_string(*val.max_length) + " items";
            return v;
        }
    }
    return std::string("has an unsupported type");
}

bool IsEmpty(const json::value& v) {
    return v.is_null() || (v.is_string() && v.as_string().empty()) || (v.is_array() && v.as_array().empty());
}

}  // namespace

Result<CheckedParameters> CheckParameters(const std::vector<catalog::Parameter>& params, const json::object& given,
                                          const json::object* previous) {
    std::vector<std::string> problems;
    CheckedParameters out;
    for (const auto& [key, value] : given) {
        const bool known = std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.name == key; });
        if (!known) problems.push_back(std::string(key) + ": is not a field of this connection type");
    }
    for (const auto& p : params) {
        const json::value* v = given.if_contains(p.name);
        const json::value* old = previous ? previous->if_contains(p.name) : nullptr;
        if (previous && !p.editable) {
            // Fixed once the connection exists: it may be left out (kept) but not changed.
            if (v && !IsEmpty(*v) && (!old || *old != *v)) {
                problems.push_back(p.name + ": cannot be changed; create a new connection instead");
                continue;
            }
            v = old;
        }
        if (!v || IsEmpty(*v)) {
            if (!p.default_value.is_null()) {
                out.values[p.name] = p.default_value;
            } else if (p.required) {
                problems.push_back(p.name + ": is required");
            }
            continue;
        }
        auto checked = CheckOne(p, *v);
        if (auto* msg = std::get_if<std::string>(&checked)) {
            problems.push_back(p.name + ": " + *msg);
        } else {
            out.values[p.name] = std::move(std::get<json::value>(checked));
        }
    }
    if (!problems.empty()) {
        core::Error e = core::InvalidArgument(
            problems.size() == 1 ? problems.front() : std::to_string(problems.size()) + " fields are invalid");
        e.message = "Invalid connection data";
        e.suberrors = std::move(problems);
        return e;
    }
    return out;
}

json::object NonSecretValues(const std::vector<catalog::Parameter>& params, const json::object& values) {
    json::object out;
    for (const auto& p : params) {
        if (p.IsSecret()) continue;
        if (const auto* v = values.if_contains(p.name)) out[p.name] = *v;
    }
    return out;
}

}  // namespace switchboard::connections
