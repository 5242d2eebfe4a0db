#pragma once
// Reading a native module's fields: ModuleCall::parameters (static parameters with the rendered mapper over them),
// falling back to the defaults of the module's catalog definition. An absent, null or empty-text field is "not
// given". Failures are engine::Failure values with Make's error types.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "engine/module.hpp"

namespace switchboard::nativeapps {

// Text of o[key] ("" when absent or null), as TextField prints values: for stored connection parameters and the
// items of array fields.
std::string TextOf(const boost::json::object& o, std::string_view key);
// The field's value, else its default in the definition; nullptr when neither.
const boost::json::value* Field(const engine::ModuleCall& call, std::string_view name);
// Text of a field ("" when not given); numbers as JavaScript prints them ("1.5", "3"), arrays and objects as JSON.
std::string TextField(const engine::ModuleCall& call, std::string_view name);
// An integer field in [min, max] (numbers or numeric text); nullopt when not given; an error text when invalid.
core::Result<std::optional<std::int64_t>> IntegerField(const engine::ModuleCall& call, std::string_view name,
                                                       std::int64_t min, std::int64_t max);
// A boolean field (true/false, "true"/"false"); fallback when not given.
bool BoolField(const engine::ModuleCall& call, std::string_view name, bool fallback);

// A module's input is wrong: BundleValidationError.
engine::Failure BadInput(std::string message);
// The connection's stored parameters; nullptr when the module ran without one.
const boost::json::object* ConnectionParameters(const engine::ModuleCall& call);
// Masks every secret of the run's connections (the engine's sanitizer).
std::string Clean(const engine::ModuleCall& call, std::string_view text);

}  // namespace switchboard::nativeapps
