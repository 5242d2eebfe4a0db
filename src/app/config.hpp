#pragma once
// Configuration, parsed once into an immutable object. Precedence: command-line flags > SWITCHBOARD_*
// environment > config file (--config / SWITCHBOARD_CONFIG, lines of `key = value`) > defaults.
// Invalid configuration is an error naming the setting; start-up stops on it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace switchboard::app {

// Raw values as given on the command line or in the environment (CLI11 fills both); unset = nullopt.
struct RawSettings {
    std::optional<std::string> config_file;
    std::optional<std::string> listen;
    std::optional<std::string> data_dir;
    std::optional<std::string> database;
    std::optional<std::string> public_url;
    std::optional<std::string> apps_dir;
    std::optional<std::string> allow_private_network;  // "true"/"false"; the flag sets "true"
    std::optional<std::string> log_level;
    std::optional<std::string> master_key_file;
    std::optional<std::string> oauth_clients;
    std::optional<std::string> workers;
};

struct Config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    std::string data_dir = "./data";
    std::string database;    // "sqlite:<data_dir>/switchboard.db" unless set
    std::string public_url;  // "http://<listen>" unless set
    std::string apps_dir;    // optional operator app folder
    bool allow_private_network = false;
    std::string log_level = "info";
    std::string master_key_file;       // "<data_dir>/master.key" unless set
    bool master_key_from_env = false;  // SWITCHBOARD_MASTER_KEY is set
    // Operator OAuth clients per app: {"google": {"clientId": "…", "clientSecret": "…"}, …} (file path).
    std::string oauth_clients_file;
    int workers = 2;  // execution worker threads (1..64)

    bool is_sqlite() const { return database.rfind("sqlite:", 0) == 0; }
};

// Reads `key = value` lines ('#' comments, optional quotes). Keys: listen, data-dir, database, public-url,
// apps-dir, allow-private-network, log-level, master-key-file (underscores accepted for dashes).
core::Result<std::map<std::string, std::string>> ReadConfigFile(const std::string& path);

core::Result<Config> ResolveConfig(const RawSettings& raw);

}  // namespace switchboard::app
