#pragma once
// The built-in function table (internal). Each eager function receives its evaluated arguments; if, ifempty
// and switch are special forms the evaluator runs lazily.
#include <optional>
#include <span>
#include <string_view>

#include "core/error.hpp"
#include "iml/eval.hpp"

namespace switchboard::iml {

struct Call {
    Evaluator& eval;
    const Node& node;
    std::span<Operand> args;
};

// An error returned by a function is reported as "column N: name: <detail>".
using FunctionImpl = core::Result<Operand> (*)(Call& call);

enum class SpecialForm : std::uint8_t { kNone, kIf, kIfEmpty, kSwitch };

struct FunctionSpec {
    std::string_view name;
    int min_args = 0;
    int max_args = 0;  // -1: any number
    FunctionImpl impl = nullptr;
    SpecialForm form = SpecialForm::kNone;
    int regex_arg = -1;  // the argument that may be a "/regex/flags" text, compiled at parse time when constant
};

// nullptr for an unknown name. Names are case-sensitive, as in Make.
const FunctionSpec* FindFunction(std::string_view name);
// Keywords usable without parentheses that stand for a function call (now, timestamp, uuid, random).
bool IsFunctionKeyword(std::string_view name);
// Constant keywords: emptystring, emptyarray, space, tab, newline, carriagereturn, nbsp, pi.
std::optional<boost::json::value> KeywordConstant(std::string_view name);

}  // namespace switchboard::iml
