#pragma once
// Validation and parsing of app definitions. Every rule of docs/apps.md is checked here, and every problem is
// reported (not only the first), each with the JSON path of the offending value, e.g.
// `$.connections.github.parameters[1].type`. Keys that are not plain identifiers are written in brackets:
// `$.connections.slack.scopes['chat:write']`.
//
// What a single file cannot know (names unique across the catalog) is checked by Catalog::Load.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/app.hpp"
#include "core/error.hpp"

namespace switchboard::catalog {

struct Problem {
    std::string path;     // "$" for the whole document
    std::string message;  // one sentence, no trailing period
};

// "PATH: MESSAGE".
std::string ToString(const Problem& problem);

// Every problem of the document; empty when it is a valid app definition.
std::vector<Problem> ValidateApp(const boost::json::value& doc);

// The typed model of a valid document. kInvalidArgument when ValidateApp finds problems: the detail says how
// many, and each problem is one suberror ("PATH: MESSAGE").
core::Result<App> ParseApp(const boost::json::value& doc, std::string source_file, bool builtin);

// Reads and parses a definition file (JSON; `//` and `/* */` comments are allowed, as in Make's .imljson).
// Appends a problem and returns nullopt when the file cannot be read, is larger than 4 MiB, is not JSON
// (line:column of the syntax error) or repeats a key within one object (which JSON parsers silently collapse).
std::optional<boost::json::value> ReadJsonFile(const std::string& path, std::vector<Problem>& problems);

// ReadJsonFile + ValidateApp.
std::vector<Problem> ValidateFile(const std::string& path);

// Make's inheritance of the app's base by a module request (a copy; neither argument is changed):
//   url        a url starting with "/" is appended to base.baseUrl (one slash between them); any other url
//              (absolute, or a template such as "{{parameters.url}}") is kept;
//   headers    base headers, then the module's; a module header replaces the base header of the same name
//              compared case-insensitively;
//   qs         base qs, then the module's; the module wins per key;
//   response   error, valid and type are taken from the base unless the module sets them;
//   log        log.sanitize is taken from the base unless the module sets it.
// A communication that is not an object is returned unchanged.
boost::json::value MergeWithBase(const boost::json::object& base, const boost::json::value& communication);

}  // namespace switchboard::catalog
