#pragma once
#include <string>
#include <vector>

#include "app/config.hpp"
#include "store/records.hpp"

namespace switchboard::app {

// Each returns the process exit code: 0 ok, 1 runtime failure, 2 bad input/configuration.
int RunServe(const Config& config);
int RunMigrate(const Config& config);
int RunTokenCreate(const Config& config, const std::string& email, const std::string& team, store::Role role);
int RunKeysRotate(const Config& config);
// Sets a user's password, read from the first line of standard input.
int RunUserPassword(const Config& config, const std::string& email);

struct RunCommandArgs {
    std::string file;                      // the blueprint
    std::vector<std::string> inputs;       // NAME=VALUE
    std::vector<std::string> connections;  // MODULE_ID=CONNECTION_ID
    std::string team;                      // team name ("" = the only team)
    std::string data;                      // JSON given to the trigger (a webhook's payload)
};
// Runs a blueprint once and prints the execution as JSON; 1 when the run ends in error.
int RunBlueprint(const Config& config, const RunCommandArgs& args);

// Prints "switchboard: <message>: <detail>" to stderr and returns the exit code for the error.
int Fail(const core::Error& e);

}  // namespace switchboard::app
