#pragma once
// Modules an app defines in JSON (`communication`, Make's request specification) and the universal
// "Make an API call" module every app with a base URL has.
#include "engine/module.hpp"

namespace switchboard::engine {

// Renders the module's communication with {parameters, connection (the connection's fields and stored data),
// common, data, temp}, sends it, and reads the answer: response.valid/error decide failure (typed as
// module.hpp's FailureForStatus unless the app names a type), response.iterate splits the answer into bundles,
// response.output maps each (default: the body, or the item), response.trigger keeps polling triggers' cursor
// (items with an id/date after the stored one, oldest first, at most parameters.limit).
ModuleOutcome RunAppModule(ModuleCall& call);

// "<app>:makeApiCall": parameters url (a path under the app's baseUrl), method, headers and qs ([{key, value}]),
// body (text or JSON). The app's base headers and query (with the connection's credentials) are added.
// Outputs {statusCode, headers, body}.
ModuleOutcome RunApiCall(ModuleCall& call, const catalog::App& app);

// The template root of a module's requests: parameters, connection, common, data, temp.
boost::json::object RequestRoot(const ModuleCall& call);

// Cursor comparison for polling triggers: numbers (or numeric text) by value, dates by time, other text by
// length then bytes. Negative, zero or positive like strcmp.
int CompareCursorValues(const boost::json::value& a, const boost::json::value& b, bool dates);

}  // namespace switchboard::engine
