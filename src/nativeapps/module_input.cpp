#include "nativeapps/module_input.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>

#include "iml/values.hpp"

namespace switchboard::nativeapps {

namespace json = boost::json;

namespace {

bool Given(const json::value& v) { return !v.is_null() && !(v.is_string() && v.as_string().empty()); }

const json::value* DefaultOf(const std::vector<catalog::Parameter>& params, std::string_view name) {
    for (const auto& p : params) {
        if (p.name == name && !p.default_value.is_null()) return &p.default_value;
    }
    return nullptr;
}

}  // namespace

const json::value* Field(const engine::ModuleCall& call, std::string_view name) {
    if (const auto* v = call.parameters.if_contains(name); v && Given(*v)) return v;
    if (call.definition == nullptr) return nullptr;
    if (const auto* d = DefaultOf(call.definition->parameters, name)) return d;
    return DefaultOf(call.definition->expect, name);
}

std::string TextOf(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && !v->is_null() ? iml::ToText(*v) : std::string();
}

std::string TextField(const engine::ModuleCall& call, std::string_view name) {
    const json::value* v = Field(call, name);
    if (v == nullptr) return "";
    return iml::ToText(*v);
}

core::Result<std::optional<std::int64_t>> IntegerField(const engine::ModuleCall& call, std::string_view name,
                                                       std::int64_t min, std::int64_t max) {
    const json::value* v = Field(call, name);
    if (v == nullptr) return std::optional<std::int64_t>();
    std::optional<std::int64_t> n;
    if (v->is_int64()) n = v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        n = static_cast<std::int64_t>(v->as_uint64());
    }
    if (v->is_double() && std::isfinite(v->as_double()) && v->as_double() == std::floor(v->as_double()) &&
        std::fabs(v->as_double()) < 9e15) {
        n = static_cast<std::int64_t>(v->as_double());
    }
    if (v->is_string()) {
        const std::string_view s = v->as_string();
        std::int64_t parsed = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
        if (ec == std::errc() && p == s.data() + s.size()) n = parsed;
    }
    const std::string range = std::to_string(min) + " to " + std::to_string(max);
    if (!n) return core::InvalidArgument(std::string(name) + " must be a whole number from " + range);
    if (*n < min || *n > max) return core::InvalidArgument(std::string(name) + " must be from " + range);
    return n;
}

bool BoolField(const engine::ModuleCall& call, std::string_view name, bool fallback) {
    const json::value* v = Field(call, name);
    if (v == nullptr) return fallback;
    if (v->is_bool()) return v->as_bool();
    if (v->is_string()) return v->as_string() == "true";
    return fallback;
}

engine::Failure BadInput(std::string message) {
    return engine::Failure(engine::errors::kBundleValidation, std::move(message));
}

const json::object* ConnectionParameters(const engine::ModuleCall& call) {
    return call.connection ? &call.connection->credentials.parameters : nullptr;
}

std::string Clean(const engine::ModuleCall& call, std::string_view text) {
    if (call.env && call.env->sanitizer) return call.env->sanitizer->Text(text, 2000);
    return std::string(text);
}

}  // namespace switchboard::nativeapps
