#pragma once
#include <string>

#include "app/config.hpp"
#include "store/records.hpp"

namespace switchboard::app {

// Each returns the process exit code: 0 ok, 1 runtime failure, 2 bad input/configuration.
int RunServe(const Config& config);
int RunMigrate(const Config& config);
int RunTokenCreate(const Config& config, const std::string& email, const std::string& team, store::Role role);
int RunKeysRotate(const Config& config);

// Prints "switchboard: <message>: <detail>" to stderr and returns the exit code for the error.
int Fail(const core::Error& e);

}  // namespace switchboard::app
