// Number functions: abs, round, floor, ceil, trunc, min, max, sum, average, median, formatNumber, parseNumber.
#include <algorithm>
#include <charconv>
#include <limits>
#include <vector>

#include "iml/function_impls.hpp"
#include "iml/function_util.hpp"

namespace switchboard::iml::fn {

namespace {

enum class Rounding { kHalfAwayFromZero, kTowardZero };

constexpr int kMaxDecimals = 100;

// |x| rounded to `decimals` places, as the digits of |x| * 10^decimals, working on the shortest decimal
// representation of x (so 1.005 rounds to 1.01, as a person would expect, not 1.00).
std::string ScaledDigits(double x, int decimals, Rounding rounding) {
    if (x == 0) return "0";
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
    const std::size_t e = sci.find('e');
    std::string digits;
    for (char ch : sci.substr(0, e)) {
        if (ch != '.') digits.push_back(ch);
    }
    int exponent = 0;
    std::string_view exp_text = sci.substr(e + 1);
    if (exp_text.front() == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    const int keep = exponent + 1 + decimals;  // digits of the result
    std::string kept;
    bool round_up = false;
    if (keep >= 0) {
        kept = digits.substr(0, std::min<std::size_t>(static_cast<std::size_t>(keep), digits.size()));
        kept.append(static_cast<std::size_t>(keep) - kept.size(), '0');
        round_up = rounding == Rounding::kHalfAwayFromZero && static_cast<std::size_t>(keep) < digits.size() &&
                   digits[static_cast<std::size_t>(keep)] >= '5';
    }
    if (round_up) {
        std::size_t i = kept.size();
        while (i > 0 && kept[i - 1] == '9') kept[--i] = '0';
        if (i == 0) {
            kept.insert(kept.begin(), '1');
        } else {
            ++kept[i - 1];
        }
    }
    if (kept.empty()) kept = "0";
    return kept;
}

struct Fixed {
    bool negative = false;
    std::string integer;   // no leading zeros ("0" for zero)
    std::string fraction;  // exactly `decimals` digits
};

Fixed ToFixed(double x, int decimals, Rounding rounding) {
    std::string scaled = ScaledDigits(x, decimals, rounding);
    if (scaled.size() < static_cast<std::size_t>(decimals) + 1) {
        scaled.insert(0, static_cast<std::size_t>(decimals) + 1 - scaled.size(), '0');
    }
    Fixed f;
    f.integer = scaled.substr(0, scaled.size() - static_cast<std::size_t>(decimals));
    f.fraction = scaled.substr(scaled.size() - static_cast<std::size_t>(decimals));
    const std::size_t nonzero = f.integer.find_first_not_of('0');
    f.integer = nonzero == std::string::npos ? "0" : f.integer.substr(nonzero);
    f.negative = x < 0 && (f.integer != "0" || f.fraction.find_first_not_of('0') != std::string::npos);
    return f;
}

constexpr std::size_t kMaxSeparatorBytes = 16;

core::Result<std::string> SeparatorArg(const Call& c, std::size_t index, std::string_view fallback) {
    auto separator = TextOr(c, index, fallback);
    if (!separator) return separator.error();
    if (separator->size() > kMaxSeparatorBytes) return core::InvalidArgument("separators are limited to 16 bytes");
    return separator;
}

core::Result<int> DecimalsArg(const Call& c, std::size_t index) {
    if (Missing(c, index)) return 0;
    auto d = IntegerArg(c.args[index]);
    if (!d) return d.error();
    if (*d < 0 || *d > kMaxDecimals) return core::InvalidArgument("decimals must be between 0 and 100");
    return static_cast<int>(*d);
}

core::Result<Operand> RoundWith(Call& c, Rounding rounding) {
    const json::value& v = c.args[0].get();
    if (v.is_null()) return Null();
    if (v.is_int64() || v.is_uint64()) return std::move(c.args[0]);
    auto n = NumberArg(c.args[0]);
    if (!n) return n.error();
    auto decimals = DecimalsArg(c, 1);
    if (!decimals) return decimals.error();
    const Fixed f = ToFixed(*n, *decimals, rounding);
    const std::string text = (f.negative ? "-" : "") + f.integer + (f.fraction.empty() ? "" : "." + f.fraction);
    double d = 0;
    std::from_chars(text.data(), text.data() + text.size(), d);
    return Number(d);
}

// Every number among the arguments; arrays contribute their elements, nulls are skipped.
core::Result<std::vector<double>> Numbers(const Call& c) {
    std::vector<double> out;
    auto add = [&](const json::value& v) -> core::Result<void> {
        if (v.is_null()) return {};
        const auto n = ToNumber(v);
        if (!n) return core::InvalidArgument("expected numbers, got " + Quote(v));
        out.push_back(*n);
        return {};
    };
    for (const Operand& arg : c.args) {
        if (const auto* array = arg.get().if_array()) {
            for (const auto& e : *array) {
                if (auto r = add(e); !r) return r.error();
            }
        } else if (auto r = add(arg.get()); !r) {
            return r.error();
        }
    }
    return out;
}

core::Result<Operand> Finite(double d) {
    if (!std::isfinite(d)) return core::InvalidArgument("number out of range");
    return Number(d);
}

}  // namespace

core::Result<Operand> Abs(Call& c) {
    const json::value& v = c.args[0].get();
    if (v.is_int64() && v.get_int64() != std::numeric_limits<std::int64_t>::min())
        return Integer(std::abs(v.get_int64()));
    auto n = NumberArg(c.args[0]);
    if (!n) return n.error();
    return Number(std::fabs(*n));
}

core::Result<Operand> Round(Call& c) { return RoundWith(c, Rounding::kHalfAwayFromZero); }
core::Result<Operand> Trunc(Call& c) { return RoundWith(c, Rounding::kTowardZero); }

core::Result<Operand> Floor(Call& c) {
    if (c.args[0].get().is_null()) return Null();
    auto n = NumberArg(c.args[0]);
    if (!n) return n.error();
    return Number(std::floor(*n));
}

core::Result<Operand> Ceil(Call& c) {
    if (c.args[0].get().is_null()) return Null();
    auto n = NumberArg(c.args[0]);
    if (!n) return n.error();
    return Number(std::ceil(*n));
}

core::Result<Operand> Min(Call& c) {
    auto numbers = Numbers(c);
    if (!numbers) return numbers.error();
    if (numbers->empty()) return Null();
    return Number(*std::min_element(numbers->begin(), numbers->end()));
}

core::Result<Operand> Max(Call& c) {
    auto numbers = Numbers(c);
    if (!numbers) return numbers.error();
    if (numbers->empty()) return Null();
    return Number(*std::max_element(numbers->begin(), numbers->end()));
}

core::Result<Operand> Sum(Call& c) {
    auto numbers = Numbers(c);
    if (!numbers) return numbers.error();
    double total = 0;
    for (double n : *numbers) total += n;
    return Finite(total);
}

core::Result<Operand> Average(Call& c) {
    auto numbers = Numbers(c);
    if (!numbers) return numbers.error();
    if (numbers->empty()) return Null();
    double total = 0;
    for (double n : *numbers) total += n;
    return Finite(total / static_cast<double>(numbers->size()));
}

core::Result<Operand> Median(Call& c) {
    auto numbers = Numbers(c);
    if (!numbers) return numbers.error();
    if (numbers->empty()) return Null();
    std::sort(numbers->begin(), numbers->end());
    const std::size_t mid = numbers->size() / 2;
    if (numbers->size() % 2 == 1) return Number((*numbers)[mid]);
    return Finite(((*numbers)[mid - 1] + (*numbers)[mid]) / 2);
}

core::Result<Operand> FormatNumber(Call& c) {
    if (c.args[0].get().is_null()) return Null();
    auto n = NumberArg(c.args[0]);
    if (!n) return n.error();
    auto decimals = DecimalsArg(c, 1);
    if (!decimals) return decimals.error();
    auto decimal_separator = SeparatorArg(c, 2, ",");
    if (!decimal_separator) return decimal_separator.error();
    auto thousands_separator = SeparatorArg(c, 3, ".");
    if (!thousands_separator) return thousands_separator.error();
    const Fixed f = ToFixed(*n, *decimals, Rounding::kHalfAwayFromZero);
    std::string out;
    if (f.negative) out.push_back('-');
    for (std::size_t i = 0; i < f.integer.size(); ++i) {
        if (i > 0 && (f.integer.size() - i) % 3 == 0) out += *thousands_separator;
        out.push_back(f.integer[i]);
    }
    if (!f.fraction.empty()) {
        out += *decimal_separator;
        out += f.fraction;
    }
    return Text(out);
}

core::Result<Operand> ParseNumber(Call& c) {
    const json::value& v = c.args[0].get();
    if (v.is_null()) return Null();
    if (IsNumber(v)) return std::move(c.args[0]);
    auto separator = SeparatorArg(c, 1, ".");
    if (!separator) return separator.error();
    if (separator->empty()) *separator = ".";
    const TextArg text_arg(c.args[0]);
    const std::string_view text = text_arg.view();
    std::string number;
    bool seen_digit = false;
    bool seen_point = false;
    for (std::size_t i = 0; i < text.size();) {
        const char ch = text[i];
        if (ch >= '0' && ch <= '9') {
            number.push_back(ch);
            seen_digit = true;
            ++i;
        } else if (!seen_point && text.substr(i, separator->size()) == *separator) {
            if (!seen_digit) number.push_back('0');
            number.push_back('.');
            seen_point = true;
            i += separator->size();
        } else {
            if (ch == '-' && !seen_digit && number.empty()) number.push_back('-');
            ++i;
        }
    }
    if (!seen_digit) return core::InvalidArgument("cannot parse " + Quote(v) + " as a number");
    double d = 0;
    const bool negative = !number.empty() && number.front() == '-';
    const std::string_view digits = std::string_view(number).substr(negative ? 1 : 0);
    std::from_chars(digits.data(), digits.data() + digits.size(), d);
    return Finite(negative ? -d : d);
}

}  // namespace switchboard::iml::fn
