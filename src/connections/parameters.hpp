#pragma once
// Checks the values a user gives for a connection type's parameters (create and set-data). Every bad field
// becomes one suberror ("apiKey: is required"), so the API can answer 400 with all of them at once.
#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "catalog/app.hpp"
#include "core/error.hpp"

namespace switchboard::connections {

struct CheckedParameters {
    boost::json::object values;  // normalised: numbers as numbers, booleans as booleans, defaults applied
};

// `given` holds the fields as sent (unknown names are errors). `previous` (edit) supplies the values of
// non-editable parameters, which may be left out but not changed. kInvalidArgument with one suberror per field.
core::Result<CheckedParameters> CheckParameters(const std::vector<catalog::Parameter>& params,
                                                const boost::json::object& given,
                                                const boost::json::object* previous = nullptr);

// The values of non-secret parameters only (edit forms are prefilled with these; secrets are write-only).
boost::json::object NonSecretValues(const std::vector<catalog::Parameter>& params, const boost::json::object& values);

}  // namespace switchboard::connections
