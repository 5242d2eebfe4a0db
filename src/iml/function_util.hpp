#pragma once
// Helpers shared by the built-in function implementations (internal).
#include <boost/json.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "iml/functions.hpp"
#include "iml/values.hpp"

namespace switchboard::iml::fn {

namespace json = boost::json;

inline Operand Text(std::string_view s) { return Operand::Own(json::value(json::string(s))); }
inline Operand Number(double d) { return Operand::Own(MakeNumber(d)); }
inline Operand Integer(std::int64_t i) { return Operand::Own(json::value(i)); }
inline Operand Bool(bool b) { return Operand::Own(json::value(b)); }
inline Operand Null() { return Operand(); }

// Text of an argument without copying when it already is text.
class TextArg {
  public:
    explicit TextArg(const Operand& o) {
        if (o.get().is_string()) {
            view_ = o.get().get_string();
        } else {
            AppendText(storage_, o.get());
            view_ = storage_;
        }
    }
    std::string_view view() const { return view_; }

  private:
    std::string storage_;
    std::string_view view_;
};

inline std::string Quote(const json::value& v) {
    std::string text = ToText(v);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return "'" + text + "'";
}

inline core::Result<double> NumberArg(const Operand& o, std::string_view what = "a number") {
    const auto n = ToNumber(o.get());
    if (!n || std::isnan(*n)) return core::InvalidArgument("expected " + std::string(what) + ", got " + Quote(o.get()));
    return *n;
}

// An integer argument (fractions truncate toward zero), clamped to ±2^53.
inline core::Result<std::int64_t> IntegerArg(const Operand& o) {
    auto n = NumberArg(o, "a number");
    if (!n) return n.error();
    const double clamped = std::fmax(-9007199254740992.0, std::fmin(9007199254740992.0, std::trunc(*n)));
    return static_cast<std::int64_t>(clamped);
}

// An optional argument: `index` past the end or null.
inline bool Missing(const Call& c, std::size_t index) {
    return index >= c.args.size() || c.args[index].get().is_null();
}

inline core::Result<std::string> TextOr(const Call& c, std::size_t index, std::string_view fallback) {
    if (Missing(c, index)) return std::string(fallback);
    return std::string(TextArg(c.args[index]).view());
}

// The value at a dotted path inside v ("a.b", "items[1].id", "2.name"); array indexes are 1-based.
const json::value* Lookup(const json::value& v, std::string_view path);

}  // namespace switchboard::iml::fn
