#pragma once
// Parsing of template text into literal parts and expression trees (internal to the iml module).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "iml/ast.hpp"

namespace switchboard::iml {

inline constexpr int kMaxExpressionHeight = 256;  // operator chains (a + b + c ...) count here
inline constexpr int kMaxArguments = 256;

struct TemplatePart {
    std::string literal;  // used when expression is null
    NodePtr expression;
};

// The parts of a template in order; adjacent literal text is merged. kInvalidArgument with "column N: ..." on
// a syntax error, an unknown function or a wrong number of arguments.
core::Result<std::vector<TemplatePart>> ParseTemplate(std::string_view source);

// "column 7", or "line 2, column 3" once the text has more than one line. Columns count characters from 1.
std::string Location(std::string_view source, std::size_t offset);

}  // namespace switchboard::iml
