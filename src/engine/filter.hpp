#pragma once
// Make's filter operators, applied to already-rendered values.
//
//   exist, notexist                         a is (not) null/empty text
//   text:equal, text:notequal, text:contain, text:notcontain, text:startwith, text:notstartwith,
//   text:endwith, text:notendwith, text:pattern, text:notpattern     each also with ":ci" (ignore case)
//   number:equal, number:notequal, number:greater, number:less, number:greaterorequal, number:lessorequal
//   boolean:equal, boolean:notequal
//   date:equal, date:notequal, date:greater, date:less, date:greaterorequal, date:lessorequal
//   array:contain, array:contain:ci, array:notcontain, array:notcontain:ci
//   array:length:{equal,notequal,greater,less,greaterorequal,lessorequal} (Make's names array:equal, array:greater,
//   … mean the same)
// Values are converted as Make does (text to number, ISO text to date; docs/scenarios.md "Filters" has the table);
// a value that cannot be converted makes the condition false, never an error. Patterns (b is the bare pattern)
// use the iml regular-expression engine (linear time); an invalid pattern is false too.
#include <boost/json/value.hpp>

#include <string_view>

#include "core/error.hpp"
#include "engine/blueprint.hpp"
#include "iml/template.hpp"

namespace switchboard::engine {

bool KnownOperator(std::string_view op);
bool IsUnaryOperator(std::string_view op);  // exist, notexist (no b)

// kInvalidArgument only for an unknown operator.
core::Result<bool> Compare(std::string_view op, const boost::json::value& a, const boost::json::value& b);

// Renders a and b of every condition with ctx (templates) and evaluates OR of AND-groups. An empty filter
// passes. Template errors are returned (the run reports them as BundleValidationError).
core::Result<bool> Evaluate(const Filter& filter, const iml::Context& ctx);

}  // namespace switchboard::engine
