#pragma once
// Conversions and comparisons between JSON values, following JavaScript's rules where Make does (Make's IML
// runs on JavaScript) and deviating where noted in docs/templates.md.
#include <boost/json/value.hpp>

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::iml {

extern const boost::json::value kNullValue;

// A number as text, as JavaScript prints it: "3", "-0.5", "1e+21", never "3.0".
void AppendNumber(std::string& out, double d);
void AppendInteger(std::string& out, std::int64_t i);
// A value as text: strings as they are, null as "", booleans as true/false, numbers as above, arrays and
// objects as compact JSON.
void AppendText(std::string& out, const boost::json::value& v);
std::string ToText(const boost::json::value& v);
// Compact JSON with numbers printed as AppendNumber does. Iterative, so nesting depth cannot overflow.
void AppendJson(std::string& out, const boost::json::value& v);

// The number a value converts to: null 0, false 0, true 1, numbers themselves, numeric text (surrounding
// white space allowed, "" is 0); nullopt for other text, arrays and objects.
std::optional<double> ToNumber(const boost::json::value& v);
// Parses decimal number text ("12", "-1.5e3", " 7 "); nullopt unless the whole text is one number.
std::optional<double> ParseNumberText(std::string_view text);
// The JSON number for d: an int64 when d is integral and exactly representable, else a double.
boost::json::value MakeNumber(double d);
bool IsNumber(const boost::json::value& v);

// JavaScript truthiness: null, false, 0, "" are false; everything else (including [] and {}) is true.
bool Truthy(const boost::json::value& v);
// What ifempty() treats as empty: null, "", [] and {}.
bool IsEmptyValue(const boost::json::value& v);

// `=` / `==`: numbers compare numerically, number vs text converts the text, booleans compare with the
// text "true"/"false" or as 1/0 with numbers, null equals only null, arrays and objects compare deeply.
bool LooseEquals(const boost::json::value& a, const boost::json::value& b);
// `===`: same type (all numbers are one type) and equal; arrays and objects compare deeply.
bool StrictEquals(const boost::json::value& a, const boost::json::value& b);
// `<` `>` `<=` `>=`: two texts that both hold ISO 8601 dates compare as instants, other texts byte-wise;
// otherwise both sides convert to numbers. nullopt when they cannot be compared (every relation is false).
std::optional<std::strong_ordering> Compare(const boost::json::value& a, const boost::json::value& b);
// A total order used by sort(): null < booleans < numbers < texts < arrays < objects.
std::strong_ordering SortOrder(const boost::json::value& a, const boost::json::value& b, bool case_insensitive);

// Approximate heap bytes a value holds; stops counting once `cap` is exceeded.
std::size_t ApproxSize(const boost::json::value& v, std::size_t cap);

}  // namespace switchboard::iml
