#pragma once
// Logging: spdlog behind a redacting sink. Secret values cannot reach a log line through the type system
// (core::Secret has no formatter); as a second line of defence every line passes through Redact(), which
// masks API tokens (sbt_…), Authorization header values and key=value pairs whose key names a secret.
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace switchboard::core {

// Sets the default logger: stderr, redacting. level: trace|debug|info|warn|error|off.
// Lines are "<ISO time> <level> <message>"; the access log writes its message as key=value pairs.
void SetupLogging(std::string_view level);
// Adds a second destination (tests use it to capture and scan every line).
void AddLogFile(const std::string& path);

std::string Redact(std::string_view line);

}  // namespace switchboard::core
