#include "iml/values.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "iml/dates.hpp"
#include "iml/timezone.hpp"

namespace switchboard::iml {

namespace json = boost::json;

const json::value kNullValue;

namespace {

constexpr double kMaxSafeInteger = 9007199254740992.0;  // 2^53

void AppendJsonString(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out.push_back(kHex[u >> 4]);
                    out.push_back(kHex[u & 0xF]);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

void AppendScalarJson(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            out += "null";
            break;
        case json::kind::string:
            AppendJsonString(out, v.get_string());
            break;
        case json::kind::double_:
            if (!std::isfinite(v.get_double())) {
                out += "null";
                break;
            }
            AppendText(out, v);
            break;
        default:
            AppendText(out, v);
    }
}

double AsDouble(const json::value& v) {
    switch (v.kind()) {
        case json::kind::int64:
            return static_cast<double>(v.get_int64());
        case json::kind::uint64:
            return static_cast<double>(v.get_uint64());
        case json::kind::double_:
            return v.get_double();
        default:
            return 0;
    }
}

// Exact numeric equality across int64, uint64 and double.
bool NumbersEqual(const json::value& a, const json::value& b) {
    if (a.is_double() || b.is_double()) return AsDouble(a) == AsDouble(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const json::value& i = a.is_int64() ? a : b;
    const json::value& u = a.is_int64() ? b : a;
    return i.get_int64() >= 0 && static_cast<std::uint64_t>(i.get_int64()) == u.get_uint64();
}

std::strong_ordering CompareDoubles(double x, double y) {
    if (x < y) return std::strong_ordering::less;
    if (x > y) return std::strong_ordering::greater;
    return std::strong_ordering::equal;
}

std::strong_ordering CompareNumbers(const json::value& a, const json::value& b) {
    if (a.is_int64() && b.is_int64()) return a.get_int64() <=> b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() <=> b.get_uint64();
    if (NumbersEqual(a, b)) return std::strong_ordering::equal;
    return CompareDoubles(AsDouble(a), AsDouble(b));
}

bool LooksLikeIsoDate(std::string_view s) {
    auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
    return s.size() >= 10 && digit(0) && digit(1) && digit(2) && digit(3) && s[4] == '-' && digit(5) && digit(6) &&
           s[7] == '-' && digit(8) && digit(9);
}

bool DeepEquals(const json::value& a, const json::value& b, int depth) {
    if (IsNumber(a) && IsNumber(b)) return NumbersEqual(a, b);
    if (a.kind() != b.kind()) return false;
    if (depth > 256) return a == b;  // boost's own comparison past our recursion budget
    switch (a.kind()) {
        case json::kind::array: {
            const auto& x = a.get_array();
            const auto& y = b.get_array();
            if (x.size() != y.size()) return false;
            for (std::size_t i = 0; i < x.size(); ++i) {
                if (!DeepEquals(x[i], y[i], depth + 1)) return false;
            }
            return true;
        }
        case json::kind::object: {
            const auto& x = a.get_object();
            const auto& y = b.get_object();
            if (x.size() != y.size()) return false;
            for (const auto& kv : x) {
                const json::value* other = y.if_contains(kv.key());
                if (other == nullptr || !DeepEquals(kv.value(), *other, depth + 1)) return false;
            }
            return true;
        }
        default:
            return a == b;
    }
}

int TypeRank(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return 0;
        case json::kind::bool_:
            return 1;
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return 2;
        case json::kind::string:
            return 3;
        case json::kind::array:
            return 4;
        case json::kind::object:
            return 5;
    }
    return 0;
}

std::strong_ordering CompareTextCaseInsensitive(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        auto x = static_cast<unsigned char>(a[i]);
        auto y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return x <=> y;
    }
    return a.size() <=> b.size();
}

}  // namespace

void AppendInteger(std::string& out, std::int64_t i) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, i);
    out.append(buf, r.ptr);
}

void AppendNumber(std::string& out, double d) {
    if (std::isnan(d)) {
        out += "NaN";
        return;
    }
    if (std::isinf(d)) {
        out += d < 0 ? "-Infinity" : "Infinity";
        return;
    }
    if (d == 0) {
        out += '0';
        return;
    }
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, r.ptr - buf);  // e.g. "-1.2345e+02"
    bool negative = false;
    if (sci.front() == '-') {
        negative = true;
        sci.remove_prefix(1);
    }
    const std::size_t e_pos = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e_pos)) {
        if (c != '.') digits.push_back(c);
    }
    int exponent = 0;
    std::string_view exp_text = sci.substr(e_pos + 1);
    if (exp_text.front() == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    const int k = static_cast<int>(digits.size());
    const int n = exponent + 1;  // value = 0.digits * 10^n
    if (negative) out.push_back('-');
    if (k <= n && n <= 21) {
        out += digits;
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits, 0, static_cast<std::size_t>(n));
        out.push_back('.');
        out.append(digits, static_cast<std::size_t>(n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-n), '0');
        out += digits;
    } else {
        out.push_back(digits[0]);
        if (k > 1) {
            out.push_back('.');
            out.append(digits, 1);
        }
        out.push_back('e');
        out.push_back(n - 1 < 0 ? '-' : '+');
        AppendInteger(out, std::abs(n - 1));
    }
}

void AppendText(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return;
        case json::kind::bool_:
            out += v.get_bool() ? "true" : "false";
            return;
        case json::kind::int64:
            AppendInteger(out, v.get_int64());
            return;
        case json::kind::uint64: {
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
            out.append(buf, r.ptr);
            return;
        }
        case json::kind::double_:
            AppendNumber(out, v.get_double());
            return;
        case json::kind::string:
            out.append(v.get_string().data(), v.get_string().size());
            return;
        case json::kind::array:
        case json::kind::object:
            AppendJson(out, v);
            return;
    }
}

std::string ToText(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    std::string out;
    AppendText(out, v);
    return out;
}

void AppendJson(std::string& out, const json::value& root) {
    struct Frame {
        const json::value* container;
        std::size_t index;
    };
    std::vector<Frame> stack;
    auto open = [&](const json::value& v) {
        if (v.is_array()) {
            out.push_back('[');
            stack.push_back({&v, 0});
        } else if (v.is_object()) {
            out.push_back('{');
            stack.push_back({&v, 0});
        } else {
            AppendScalarJson(out, v);
        }
    };
    open(root);
    while (!stack.empty()) {
        const json::value* container = stack.back().container;
        const std::size_t index = stack.back().index++;
        if (container->is_array()) {
            const auto& a = container->get_array();
            if (index == a.size()) {
                out.push_back(']');
                stack.pop_back();
                continue;
            }
            if (index > 0) out.push_back(',');
            open(a[index]);
        } else {
            const auto& o = container->get_object();
            if (index == o.size()) {
                out.push_back('}');
                stack.pop_back();
                continue;
            }
            if (index > 0) out.push_back(',');
            const auto& kv = *(o.begin() + static_cast<std::ptrdiff_t>(index));
            AppendJsonString(out, kv.key());
            out.push_back(':');
            open(kv.value());
        }
    }
}

std::optional<double> ParseNumberText(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || (text.front() >= '\t' && text.front() <= '\r'))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || (text.back() >= '\t' && text.back() <= '\r'))) {
        text.remove_suffix(1);
    }
    if (text.empty()) return std::nullopt;
    bool negative = false;
    if (text.front() == '+' || text.front() == '-') {
        negative = text.front() == '-';
        text.remove_prefix(1);
    }
    // from_chars would also accept "inf", "nan" and hex digits after a prefix; allow only decimal syntax.
    if (text.empty() || !((text.front() >= '0' && text.front() <= '9') || text.front() == '.')) return std::nullopt;
    double d = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), d, std::chars_format::general);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return negative ? -d : d;
}

std::optional<double> ToNumber(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return 0.0;
        case json::kind::bool_:
            return v.get_bool() ? 1.0 : 0.0;
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return AsDouble(v);
        case json::kind::string: {
            const auto& s = v.get_string();
            bool blank = true;
            for (char c : s) blank = blank && (c == ' ' || (c >= '\t' && c <= '\r'));
            if (blank) return 0.0;
            return ParseNumberText(s);
        }
        default:
            return std::nullopt;
    }
}

json::value MakeNumber(double d) {
    if (std::trunc(d) == d && std::fabs(d) <= kMaxSafeInteger) return json::value(static_cast<std::int64_t>(d));
    return json::value(d);
}

bool IsNumber(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

bool Truthy(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return false;
        case json::kind::bool_:
            return v.get_bool();
        case json::kind::int64:
            return v.get_int64() != 0;
        case json::kind::uint64:
            return v.get_uint64() != 0;
        case json::kind::double_:
            return v.get_double() != 0 && !std::isnan(v.get_double());
        case json::kind::string:
            return !v.get_string().empty();
        default:
            return true;
    }
}

bool IsEmptyValue(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return true;
        case json::kind::string:
            return v.get_string().empty();
        case json::kind::array:
            return v.get_array().empty();
        case json::kind::object:
            return v.get_object().empty();
        default:
            return false;
    }
}

bool LooseEquals(const json::value& a, const json::value& b) {
    if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
    if (IsNumber(a) && IsNumber(b)) return NumbersEqual(a, b);
    if (a.is_bool() && b.is_string()) return b.get_string() == (a.get_bool() ? "true" : "false");
    if (b.is_bool() && a.is_string()) return a.get_string() == (b.get_bool() ? "true" : "false");
    if (a.is_bool() && b.is_bool()) return a.get_bool() == b.get_bool();
    if ((a.is_bool() || IsNumber(a) || a.is_string()) && (b.is_bool() || IsNumber(b) || b.is_string())) {
        if (a.is_string() && b.is_string()) return a.get_string() == b.get_string();
        const auto x = ToNumber(a);
        const auto y = ToNumber(b);
        return x && y && *x == *y;
    }
    return DeepEquals(a, b, 0);
}

bool StrictEquals(const json::value& a, const json::value& b) { return DeepEquals(a, b, 0); }

std::optional<std::strong_ordering> Compare(const json::value& a, const json::value& b) {
    if (a.is_string() && b.is_string()) {
        const std::string_view x = a.get_string();
        const std::string_view y = b.get_string();
        if (LooksLikeIsoDate(x) && LooksLikeIsoDate(y)) {
            const auto tx = ParseDateText(x, TimeZone::Utc());
            const auto ty = ParseDateText(y, TimeZone::Utc());
            if (tx && ty) return *tx <=> *ty;
        }
        return x.compare(y) <=> 0;
    }
    if (IsNumber(a) && IsNumber(b)) return CompareNumbers(a, b);
    const auto x = ToNumber(a);
    const auto y = ToNumber(b);
    if (!x || !y || std::isnan(*x) || std::isnan(*y)) return std::nullopt;
    return CompareDoubles(*x, *y);
}

std::strong_ordering SortOrder(const json::value& a, const json::value& b, bool case_insensitive) {
    const int ra = TypeRank(a);
    const int rb = TypeRank(b);
    if (ra != rb) return ra <=> rb;
    switch (a.kind()) {
        case json::kind::bool_:
            return a.get_bool() <=> b.get_bool();
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return CompareNumbers(a, b);
        case json::kind::string:
            if (case_insensitive) return CompareTextCaseInsensitive(a.get_string(), b.get_string());
            return std::string_view(a.get_string()).compare(b.get_string()) <=> 0;
        case json::kind::array:
        case json::kind::object:
            return ToText(a).compare(ToText(b)) <=> 0;
        default:
            return std::strong_ordering::equal;
    }
}

std::size_t ApproxSize(const json::value& v, std::size_t cap) {
    std::size_t total = 0;
    std::vector<const json::value*> pending{&v};
    while (!pending.empty() && total <= cap) {
        const json::value* cur = pending.back();
        pending.pop_back();
        total += sizeof(json::value);
        if (cur->is_string()) {
            total += cur->get_string().size();
        } else if (cur->is_array()) {
            for (const auto& e : cur->get_array()) pending.push_back(&e);
        } else if (cur->is_object()) {
            for (const auto& kv : cur->get_object()) {
                total += kv.key().size() + sizeof(json::key_value_pair);
                pending.push_back(&kv.value());
            }
        }
    }
    return total;
}

}  // namespace switchboard::iml
