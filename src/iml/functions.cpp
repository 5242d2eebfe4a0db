#include "iml/functions.hpp"

#include <array>
#include <numbers>

#include "iml/function_impls.hpp"
#include "iml/function_util.hpp"

namespace switchboard::iml {

namespace {

using SF = SpecialForm;

// Sorted by name for binary search.
constexpr FunctionSpec kFunctions[] = {
    {"abs", 1, 1, fn::Abs},
    {"add", 1, -1, fn::Add},
    {"addDays", 2, 2, fn::AddDays},
    {"addHours", 2, 2, fn::AddHours},
    {"addMinutes", 2, 2, fn::AddMinutes},
    {"addMonths", 2, 2, fn::AddMonthsFn},
    {"addSeconds", 2, 2, fn::AddSeconds},
    {"addYears", 2, 2, fn::AddYears},
    {"average", 0, -1, fn::Average},
    {"base64", 1, 1, fn::Base64},
    {"base64url", 1, 1, fn::Base64Url},
    {"capitalize", 1, 1, fn::Capitalize},
    {"ceil", 1, 1, fn::Ceil},
    {"contains", 2, 2, fn::Contains},
    {"decodeURL", 1, 1, fn::DecodeUrl},
    {"deduplicate", 1, 1, fn::Deduplicate},
    {"distinct", 1, 2, fn::Distinct},
    {"emptyarray", 0, 0, fn::EmptyArray},
    {"emptystring", 0, 0, fn::EmptyString},
    {"encodeURL", 1, 1, fn::EncodeUrl},
    {"endsWith", 2, 2, fn::EndsWith},
    {"equal", 2, 2, fn::Equal},
    {"escapeHTML", 1, 1, fn::EscapeHtml},
    {"first", 1, 1, fn::First},
    {"flatten", 1, 2, fn::Flatten},
    {"floor", 1, 1, fn::Floor},
    {"formatDate", 2, 3, fn::FormatDateFn},
    {"formatNumber", 1, 4, fn::FormatNumber},
    {"get", 2, 2, fn::Get},
    {"if", 2, 3, nullptr, SF::kIf},
    {"ifempty", 2, 2, nullptr, SF::kIfEmpty},
    {"indexOf", 2, 3, fn::IndexOf},
    {"join", 1, 2, fn::Join},
    {"keys", 1, 1, fn::Keys},
    {"last", 1, 1, fn::Last},
    {"length", 1, 1, fn::Length},
    {"lower", 1, 1, fn::Lower},
    {"map", 2, 4, fn::Map},
    {"max", 0, -1, fn::Max},
    {"md5", 1, 1, fn::Md5},
    {"median", 0, -1, fn::Median},
    {"merge", 0, -1, fn::Merge},
    {"min", 0, -1, fn::Min},
    {"now", 0, 0, fn::Now},
    {"omit", 1, -1, fn::Omit},
    {"parseDate", 1, 3, fn::ParseDate},
    {"parseNumber", 1, 2, fn::ParseNumber},
    {"pick", 1, -1, fn::Pick},
    {"random", 0, 0, fn::RandomFn},
    {"remove", 1, -1, fn::Remove},
    {"replace", 3, 3, fn::Replace, SF::kNone, 1},
    {"reverse", 1, 1, fn::Reverse},
    {"round", 1, 2, fn::Round},
    {"sha1", 1, 4, fn::Sha1},
    {"sha256", 1, 4, fn::Sha256},
    {"sha512", 1, 4, fn::Sha512},
    {"shuffle", 1, 1, fn::Shuffle},
    {"slice", 2, 3, fn::Slice},
    {"sort", 1, 3, fn::Sort},
    {"split", 2, 2, fn::Split, SF::kNone, 1},
    {"startcase", 1, 1, fn::StartCase},
    {"startsWith", 2, 2, fn::StartsWith},
    {"stripHTML", 1, 1, fn::StripHtml},
    {"substring", 2, 3, fn::Substring},
    {"sum", 0, -1, fn::Sum},
    {"switch", 2, -1, nullptr, SF::kSwitch},
    {"timestamp", 0, 0, fn::Timestamp},
    {"toArray", 1, 1, fn::ToArray},
    {"toBinary", 1, 2, fn::ToBinary},
    {"toCollection", 3, 3, fn::ToCollection},
    {"toNumber", 1, 1, fn::ToNumberFn},
    {"toString", 1, 1, fn::ToStringFn},
    {"trim", 1, 1, fn::Trim},
    {"trunc", 1, 2, fn::Trunc},
    {"upper", 1, 1, fn::Upper},
    {"uuid", 0, 0, fn::Uuid},
};

constexpr bool Sorted() {
    for (std::size_t i = 1; i < std::size(kFunctions); ++i) {
        if (!(kFunctions[i - 1].name < kFunctions[i].name)) return false;
    }
    return true;
}
static_assert(Sorted(), "kFunctions must be sorted by name");

}  // namespace

const FunctionSpec* FindFunction(std::string_view name) {
    const auto* end = std::end(kFunctions);
    const auto* it = std::lower_bound(std::begin(kFunctions), end, name,
                                      [](const FunctionSpec& f, std::string_view n) { return f.name < n; });
    return it != end && it->name == name ? it : nullptr;
}

bool IsFunctionKeyword(std::string_view name) {
    return name == "now" || name == "timestamp" || name == "uuid" || name == "random";
}

std::optional<boost::json::value> KeywordConstant(std::string_view name) {
    namespace json = boost::json;
    if (name == "emptystring") return json::value(json::string());
    if (name == "emptyarray") return json::value(json::array());
    if (name == "space") return json::value(json::string(" "));
    if (name == "tab") return json::value(json::string("\t"));
    if (name == "newline") return json::value(json::string("\n"));
    if (name == "carriagereturn") return json::value(json::string("\r"));
    if (name == "nbsp") return json::value(json::string("\xC2\xA0"));
    if (name == "pi") return json::value(std::numbers::pi);
    return std::nullopt;
}

}  // namespace switchboard::iml
