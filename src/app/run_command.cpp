// switchboard run BLUEPRINT.json: one run of a blueprint against the configured database (docs/cli.md).
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "app/runtime.hpp"
#include "core/log.hpp"

namespace switchboard::app {

namespace json = boost::json;

namespace {

int Usage(const std::string& message) {
    std::cerr << "switchboard run: " << message << std::endl;
    return 2;
}

}  // namespace

int RunBlueprint(const Config& config, const RunCommandArgs& args) {
    core::SetupLogging("warn");
    std::ifstream in(args.file);
    if (!in) return Usage("cannot read " + args.file);
    std::stringstream ss;
    ss << in.rdbuf();
    json::error_code ec;
    json::value doc = json::parse(ss.str(), ec);
    if (ec) return Usage(args.file + " is not valid JSON: " + ec.message());
    // A blueprint, or the answer of GET /api/v2/scenarios/{id}/blueprint ({"response": {"blueprint", "interface"}}).
    json::value inputs_def = json::array{};
    if (doc.is_object() && doc.as_object().contains("response") && doc.as_object().at("response").is_object()) {
        doc = json::value(doc.as_object().at("response"));
    }
    if (doc.is_object() && doc.as_object().contains("blueprint")) {
        const json::object& o = doc.as_object();
        if (const auto* i = o.if_contains("interface"); i && i->is_object() && i->as_object().contains("input")) {
            inputs_def = i->as_object().at("input");
        }
        doc = json::value(o.at("blueprint"));
    }
    auto bp = engine::ParseBlueprint(doc);
    if (!bp) return Usage(bp.error().detail);
    auto inputs = engine::ParseInputs(inputs_def);
    if (!inputs) return Usage(inputs.error().detail);

    auto rt = OpenRuntime(config, KeyPolicy::kLoad);
    if (!rt) return Fail(rt.error());
    Runtime& r = **rt;
    auto unknown = engine::UnknownModules(
        *bp, [&](const std::string& name) { return engine::DescribeModule(*r.catalog, *r.modules, name).has_value(); });
    if (!unknown.empty()) {
        std::string list;
        for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
        return Usage("the blueprint uses modules Switchboard does not know: " + list);
    }

    // The team: named, else the only one there is.
    core::TeamId team;
    if (!args.team.empty()) {
        auto t = r.store->FindTeamByName(args.team);
        if (!t) return Fail(t.error());
        if (!*t) return Usage("no team named \"" + args.team + "\"");
        team = (*t)->id;
    } else {
        auto rows = r.store->db().Exec("SELECT id FROM teams ORDER BY id LIMIT 2");
        if (!rows) return Fail(rows.error());
        if (rows->rows.size() != 1) return Usage("there are several teams (or none): choose one with --team NAME");
        team = core::TeamId(rows->rows[0].Int(0));
    }

    json::object given;
    for (const auto& kv : args.inputs) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) return Usage("--input takes NAME=VALUE, not " + kv);
        given[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto applied = engine::ApplyInputs(*inputs, given);
    if (!applied) return Usage(applied.error().detail);

    engine::RunRequest req;
    req.team = team;
    req.scenario_name = bp->name;
    for (const auto& kv : args.connections) {
        auto eq = kv.find('=');
        try {
            if (eq == std::string::npos) throw std::invalid_argument(kv);
            req.connection_overrides[std::stoll(kv.substr(0, eq))] = std::stoll(kv.substr(eq + 1));
        } catch (const std::exception&) {
            return Usage("--connection takes MODULE_ID=CONNECTION_ID, not " + kv);
        }
    }
    if (!args.data.empty()) {
        json::value payload = json::parse(args.data, ec);
        if (ec) return Usage("--data is not valid JSON: " + ec.message());
        req.trigger_bundle = std::move(payload);
    }
    const bool confidential = bp->settings.confidential;
    auto compiled = engine::Compile(std::move(*bp), std::move(*inputs));
    if (!compiled) return Usage(compiled.error().detail);
    req.scenario = *compiled;
    req.inputs = std::move(*applied);
    req.confidential = confidential;
    engine::RunResult result = r.runner->Run(req);

    json::object out;
    out["status"] = store::ExecutionStatusName(result.status);
    out["operations"] = result.operations;
    out["error"] = result.error.type.empty() ? json::value(nullptr)
                                             : json::value(json::object{{"type", result.error.type},
                                                                        {"message", result.error.message},
                                                                        {"moduleId", result.error_module_id}});
    json::array used;
    for (const auto& c : result.connections) {
        json::object u{{"moduleId", c.module_id}, {"connectionId", c.connection_id}};
        if (c.dynamic_id) {
            u["dynamicConnectionId"] = c.dynamic_id;
            u["label"] = c.label;
        }
        used.push_back(std::move(u));
    }
    out["connections"] = std::move(used);
    out["modules"] = result.log;
    if (result.response) out["response"] = *result.response;
    std::cout << json::serialize(out) << std::endl;
    return result.status == store::ExecutionStatus::kError ? 1 : 0;
}

}  // namespace switchboard::app
