#include "engine/filter.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "iml/dates.hpp"
#include "iml/regex.hpp"
#include "iml/timezone.hpp"
#include "iml/utf8.hpp"
#include "iml/values.hpp"

namespace switchboard::engine {

namespace json = boost::json;

namespace {

// Work one text:pattern condition may spend in the regular-expression VM (linear in text × pattern); a
// condition that runs out is false, like any value that cannot be compared.
constexpr std::uint64_t kPatternSteps = 10'000'000;

enum class Family { kExist, kText, kNumber, kBoolean, kDate, kArrayContain, kArrayLength };
enum class Rel {
    kExist,
    kNotExist,
    kEqual,
    kNotEqual,
    kContain,
    kNotContain,
    kStartWith,
    kNotStartWith,
    kEndWith,
    kNotEndWith,
    kPattern,
    kNotPattern,
    kGreater,
    kLess,
    kGreaterOrEqual,
    kLessOrEqual,
};

struct Operator {
    std::string_view name;
    Family family;
    Rel rel;
    bool ci = false;
};

constexpr Operator kOperators[] = {
    {"exist", Family::kExist, Rel::kExist},
    {"notexist", Family::kExist, Rel::kNotExist},

    {"text:equal", Family::kText, Rel::kEqual},
    {"text:equal:ci", Family::kText, Rel::kEqual, true},
    {"text:notequal", Family::kText, Rel::kNotEqual},
    {"text:notequal:ci", Family::kText, Rel::kNotEqual, true},
    {"text:contain", Family::kText, Rel::kContain},
    {"text:contain:ci", Family::kText, Rel::kContain, true},
    {"text:notcontain", Family::kText, Rel::kNotContain},
    {"text:notcontain:ci", Family::kText, Rel::kNotContain, true},
    {"text:startwith", Family::kText, Rel::kStartWith},
    {"text:startwith:ci", Family::kText, Rel::kStartWith, true},
    {"text:notstartwith", Family::kText, Rel::kNotStartWith},
    {"text:notstartwith:ci", Family::kText, Rel::kNotStartWith, true},
    {"text:endwith", Family::kText, Rel::kEndWith},
    {"text:endwith:ci", Family::kText, Rel::kEndWith, true},
    {"text:notendwith", Family::kText, Rel::kNotEndWith},
    {"text:notendwith:ci", Family::kText, Rel::kNotEndWith, true},
    {"text:pattern", Family::kText, Rel::kPattern},
    {"text:pattern:ci", Family::kText, Rel::kPattern, true},
    {"text:notpattern", Family::kText, Rel::kNotPattern},
    {"text:notpattern:ci", Family::kText, Rel::kNotPattern, true},

    {"number:equal", Family::kNumber, Rel::kEqual},
    {"number:notequal", Family::kNumber, Rel::kNotEqual},
    {"number:greater", Family::kNumber, Rel::kGreater},
    {"number:less", Family::kNumber, Rel::kLess},
    {"number:greaterorequal", Family::kNumber, Rel::kGreaterOrEqual},
    {"number:lessorequal", Family::kNumber, Rel::kLessOrEqual},

    {"boolean:equal", Family::kBoolean, Rel::kEqual},
    {"boolean:notequal", Family::kBoolean, Rel::kNotEqual},

    {"date:equal", Family::kDate, Rel::kEqual},
    {"date:notequal", Family::kDate, Rel::kNotEqual},
    {"date:greater", Family::kDate, Rel::kGreater},
    {"date:less", Family::kDate, Rel::kLess},
    {"date:greaterorequal", Family::kDate, Rel::kGreaterOrEqual},
    {"date:lessorequal", Family::kDate, Rel::kLessOrEqual},

    {"array:contain", Family::kArrayContain, Rel::kContain},
    {"array:contain:ci", Family::kArrayContain, Rel::kContain, true},
    {"array:notcontain", Family::kArrayContain, Rel::kNotContain},
    {"array:notcontain:ci", Family::kArrayContain, Rel::kNotContain, true},
    {"array:length:equal", Family::kArrayLength, Rel::kEqual},
    {"array:length:notequal", Family::kArrayLength, Rel::kNotEqual},
    {"array:length:greater", Family::kArrayLength, Rel::kGreater},
    {"array:length:less", Family::kArrayLength, Rel::kLess},
    {"array:length:greaterorequal", Family::kArrayLength, Rel::kGreaterOrEqual},
    {"array:length:lessorequal", Family::kArrayLength, Rel::kLessOrEqual},
    // The names Make's own blueprints use for the array-length operators.
    {"array:equal", Family::kArrayLength, Rel::kEqual},
    {"array:notequal", Family::kArrayLength, Rel::kNotEqual},
    {"array:greater", Family::kArrayLength, Rel::kGreater},
    {"array:less", Family::kArrayLength, Rel::kLess},
    {"array:greaterorequal", Family::kArrayLength, Rel::kGreaterOrEqual},
    {"array:lessorequal", Family::kArrayLength, Rel::kLessOrEqual},
};

const Operator* FindOperator(std::string_view name) {
    for (const auto& op : kOperators) {
        if (op.name == name) return &op;
    }
    return nullptr;
}

template <class T>
bool Relate(Rel rel, const T& a, const T& b) {
    switch (rel) {
        case Rel::kEqual:
            return a == b;
        case Rel::kNotEqual:
            return a != b;
        case Rel::kGreater:
            return a > b;
        case Rel::kLess:
            return a < b;
        case Rel::kGreaterOrEqual:
            return a >= b;
        case Rel::kLessOrEqual:
            return a <= b;
        default:
            return false;
    }
}

// Make's number coercion: numbers, and text that is one decimal number. Null, empty text, booleans, arrays
// and objects cannot be converted.
std::optional<double> AsNumber(const json::value& v) {
    if (iml::IsNumber(v)) return iml::ToNumber(v);
    if (v.is_string()) {
        auto d = iml::ParseNumberText(v.get_string());
        if (d && std::isfinite(*d)) return d;
    }
    return std::nullopt;
}

// Make's boolean coercion (help.make.com/type-coercion): booleans as they are; any number is true (even 0);
// text is false when it is empty or "false", true otherwise; null is false; arrays and objects are true.
bool AsBoolean(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return false;
        case json::kind::bool_:
            return v.get_bool();
        case json::kind::string: {
            std::string_view s = v.get_string();
            return !(s.empty() || s == "false");
        }
        default:
            return true;
    }
}

// Make's date coercion: text with at least a day, month and year (ISO 8601 or RFC 2822; without an offset it is
// wall-clock time in `tz`); a number is milliseconds since 1970.
std::optional<std::int64_t> AsDate(const json::value& v, const iml::TimeZone& tz) {
    if (v.is_string()) return iml::ParseDateText(v.get_string(), tz);
    if (iml::IsNumber(v)) {
        const double d = *iml::ToNumber(v);
        if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(iml::kMaxDateMillis)) return std::nullopt;
        return static_cast<std::int64_t>(std::trunc(d));
    }
    return std::nullopt;
}

// Make's array coercion: an array as it is, any other value as an array of one; null (a missing value) is empty.
json::array AsArray(const json::value& v) {
    if (v.is_array()) return v.get_array();
    if (v.is_null()) return {};
    return json::array{v};
}

std::string Text(const json::value& v, bool ci) {
    std::string t = iml::ToText(v);
    return ci ? iml::ToLower(t) : t;
}

bool Matches(std::string_view text, std::string_view pattern, bool ci, bool& ok) {
    ok = false;
    auto re = iml::Regex::Compile(pattern, ci ? "i" : "");
    if (!re) return false;
    std::uint64_t steps = kPatternSteps;
    auto m = re->Search(text, 0, steps);
    if (!m) return false;
    ok = true;
    return m->has_value();
}

bool CompareText(const Operator& op, const json::value& a, const json::value& b) {
    const std::string ta = Text(a, op.ci && op.rel != Rel::kPattern && op.rel != Rel::kNotPattern);
    if (op.rel == Rel::kPattern || op.rel == Rel::kNotPattern) {
        bool ok = false;
        const bool found = Matches(ta, iml::ToText(b), op.ci, ok);
        if (!ok) return false;  // an invalid pattern (or one that ran out of steps) matches neither way
        return op.rel == Rel::kPattern ? found : !found;
    }
    const std::string tb = Text(b, op.ci);
    const std::string_view va = ta, vb = tb;
    switch (op.rel) {
        case Rel::kEqual:
            return va == vb;
        case Rel::kNotEqual:
            return va != vb;
        case Rel::kContain:
            return va.find(vb) != std::string_view::npos;
        case Rel::kNotContain:
            return va.find(vb) == std::string_view::npos;
        case Rel::kStartWith:
            return va.starts_with(vb);
        case Rel::kNotStartWith:
            return !va.starts_with(vb);
        case Rel::kEndWith:
            return va.ends_with(vb);
        case Rel::kNotEndWith:
            return !va.ends_with(vb);
        default:
            return false;
    }
}

// An element equals b when both are scalars with the same text (2 and "2"), or deeply equal arrays/objects.
bool ElementMatches(const json::value& element, const json::value& b, bool ci) {
    const bool element_scalar = !element.is_array() && !element.is_object();
    const bool b_scalar = !b.is_array() && !b.is_object();
    if (element_scalar != b_scalar) return false;
    if (!element_scalar) return iml::StrictEquals(element, b);
    return Text(element, ci) == Text(b, ci);
}

bool CompareIn(const Operator& op, const json::value& a, const json::value& b, const iml::TimeZone& tz) {
    switch (op.family) {
        case Family::kExist: {
            const bool exists = !(a.is_null() || (a.is_string() && a.get_string().empty()));
            return op.rel == Rel::kExist ? exists : !exists;
        }
        case Family::kText:
            return CompareText(op, a, b);
        case Family::kNumber: {
            auto na = AsNumber(a);
            auto nb = AsNumber(b);
            if (!na || !nb) return false;
            return Relate(op.rel, *na, *nb);
        }
        case Family::kBoolean:
            return Relate(op.rel, AsBoolean(a), AsBoolean(b));
        case Family::kDate: {
            auto da = AsDate(a, tz);
            auto db = AsDate(b, tz);
            if (!da || !db) return false;
            return Relate(op.rel, *da, *db);
        }
        case Family::kArrayContain: {
            const json::array arr = AsArray(a);
            const bool found =
                std::any_of(arr.begin(), arr.end(), [&](const json::value& e) { return ElementMatches(e, b, op.ci); });
            return op.rel == Rel::kContain ? found : !found;
        }
        case Family::kArrayLength: {
            auto nb = AsNumber(b);
            if (!nb) return false;
            const double length = a.is_array() ? static_cast<double>(a.get_array().size()) : (a.is_null() ? 0.0 : 1.0);
            return Relate(op.rel, length, *nb);
        }
    }
    return false;
}

core::Result<json::value> RenderSide(const std::string& text, const iml::Context& ctx, const std::string& where) {
    auto t = iml::Template::Parse(text);
    if (!t) return core::InvalidArgument(where + ": " + t.error().detail);
    auto v = t->Render(ctx);
    if (!v) return core::InvalidArgument(where + ": " + v.error().detail);
    return v;
}

}  // namespace

bool KnownOperator(std::string_view op) { return FindOperator(op) != nullptr; }

bool IsUnaryOperator(std::string_view op) {
    const auto* found = FindOperator(op);
    return found != nullptr && found->family == Family::kExist;
}

core::Result<bool> Compare(std::string_view op, const json::value& a, const json::value& b) {
    const auto* found = FindOperator(op);
    if (found == nullptr) return core::InvalidArgument("unknown filter operator '" + std::string(op) + "'");
    return CompareIn(*found, a, b, iml::TimeZone::Utc());
}

core::Result<bool> Evaluate(const Filter& filter, const iml::Context& ctx) {
    if (filter.conditions.empty()) return true;
    const std::string prefix = filter.name.empty() ? "filter: " : "filter '" + filter.name + "': ";
    std::shared_ptr<const iml::TimeZone> zone;  // looked up when a date condition needs it
    for (std::size_t i = 0; i < filter.conditions.size(); ++i) {
        bool all = true;
        for (std::size_t j = 0; j < filter.conditions[i].size() && all; ++j) {
            const Condition& c = filter.conditions[i][j];
            const std::string where = prefix + "conditions[" + std::to_string(i) + "][" + std::to_string(j) + "]";
            const auto* op = FindOperator(c.o);
            if (op == nullptr) return core::InvalidArgument(where + ".o: unknown operator '" + c.o + "'");
            auto a = RenderSide(c.a, ctx, where + ".a");
            if (!a) return a.error();
            json::value b;
            if (op->family != Family::kExist) {
                auto rb = RenderSide(c.b, ctx, where + ".b");
                if (!rb) return rb.error();
                b = std::move(*rb);
            }
            if (op->family == Family::kDate && zone == nullptr) {
                auto z = iml::TimeZone::Find(ctx.timezone);
                if (!z) return core::InvalidArgument(where + ": " + z.error().detail);
                zone = *z;
            }
            all = CompareIn(*op, *a, b, zone != nullptr ? *zone : iml::TimeZone::Utc());
        }
        if (all) return true;
    }
    return false;
}

}  // namespace switchboard::engine
