#pragma once
// Make's scenario blueprint, parsed into a typed model (docs/scenarios.md describes the format):
//
//   {"name": "...", "flow": [ {"id": 1, "module": "gateway:CustomWebHook", "version": 1,
//       "parameters": {"__IMTCONN__": 12, ...}, "mapper": {"url": "{{1.item}}", ...},
//       "filter": {"name": "...", "conditions": [[{"a": "{{1.x}}", "o": "text:equal", "b": "y"}]]},
//       "routes": [{"flow": [...]}],            // builtin:BasicRouter only
//       "onerror": [{"id": 9, "module": "builtin:Ignore", ...}],
//       "metadata": {...}} ],
//    "metadata": {"scenario": {"maxErrors": 3, "sequential": false, "confidential": false, "dlq": false, ...}}}
//
// Templates stay text here; the runner compiles them. Parse errors are kInvalidArgument with a JSON path
// ("flow[2].mapper.url: ..."). Modules are not looked up here (see UnknownModules).
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace switchboard::engine {

// One condition of a filter: a (template) o b (template). Unary operators (exist, notexist, …) have no b.
struct Condition {
    std::string a;
    std::string o;  // "text:equal", "number:greater", "exist", … (see filter.hpp)
    std::string b;
};

// Make's filter: OR of AND-groups.
struct Filter {
    std::string name;
    std::vector<std::vector<Condition>> conditions;
};

struct ModuleNode;

struct Route {
    std::vector<ModuleNode> flow;
};

struct ModuleNode {
    std::int64_t id = 0;  // 1…n, unique in the blueprint (routes and handlers included)
    std::string module;   // "app:name"
    int version = 1;
    boost::json::object parameters;   // static; the connection in "__IMTCONN__" (see ConnectionRef)
    boost::json::value mapper;        // templates over earlier modules' outputs; object (or null)
    std::optional<Filter> filter;     // evaluated before the module runs, per bundle
    std::vector<Route> routes;        // builtin:BasicRouter
    std::vector<ModuleNode> onerror;  // error-handler flow: optional modules ending in a builtin directive
    boost::json::object metadata;     // kept as written (designer positions, …)
};

struct ScenarioSettings {
    int max_errors = 3;  // consecutive failed runs before scheduling is disabled (≥ 1)
    bool sequential = false;
    bool confidential = false;
    bool dlq = false;  // store incomplete executions
    int roundtrips = 1;
    bool auto_commit = true;
};

struct Blueprint {
    std::string name;
    std::vector<ModuleNode> flow;
    ScenarioSettings settings;
    boost::json::object metadata;
};

// `v` is the blueprint object, or a JSON string holding it (as Make's API sends it). Limits: 1 MB of JSON,
// 500 modules, nesting of routes/handlers ≤ 16. Checks shapes, unique positive ids, "app:name" module names,
// filter operators known to filter.hpp, routes only on builtin:BasicRouter.
core::Result<Blueprint> ParseBlueprint(const boost::json::value& v);

// Every module node, depth first in flow order (a router's routes after the router, handlers after their module).
void ForEachModule(const Blueprint& b, const std::function<void(const ModuleNode&)>& fn);
const ModuleNode* FindModule(const Blueprint& b, std::int64_t id);

// The connection a module is bound to, from parameters.__IMTCONN__ (a number or numeric text: a connection
// id; {"dynamic": ID} or "dynamic:ID": a dynamic connection). nullopt when the module has none.
struct ConnectionRef {
    bool dynamic = false;
    std::int64_t id = 0;
};
core::Result<std::optional<ConnectionRef>> ConnectionOf(const ModuleNode& m);

// Names of modules (as "app:name") for which `known` returns false, each once, in flow order.
std::vector<std::string> UnknownModules(const Blueprint& b, const std::function<bool(const std::string&)>& known);

// Scenario inputs (Make's scenario interface): [{"name", "type", "required", "default", "label"}].
// type: text, number, boolean, date, json, array, collection. Names unique, [A-Za-z_][A-Za-z0-9_]*.
struct ScenarioInput {
    std::string name;
    std::string type = "text";
    std::string label;
    bool required = false;
    boost::json::value default_value;  // null when none
};
core::Result<std::vector<ScenarioInput>> ParseInputs(const boost::json::value& v);
boost::json::array InputsToJson(const std::vector<ScenarioInput>& inputs);
// The values a run sees: given values checked and converted to each input's type ("12" → 12 for number,
// "true" → true, ISO text for date), defaults for the missing ones; kInvalidArgument naming the input for a
// missing required one, a wrong type or a name no input has.
core::Result<boost::json::object> ApplyInputs(const std::vector<ScenarioInput>& inputs,
                                              const boost::json::object& given);

}  // namespace switchboard::engine
