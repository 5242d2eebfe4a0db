#include "app/config.hpp"

#include <boost/url/parse.hpp>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace switchboard::app {

using core::Result;

namespace {

std::string Trim(std::string s) {
    const char* ws = " \t\r\n";
    s.erase(0, s.find_first_not_of(ws));
    s.erase(s.find_last_not_of(ws) + 1);
    return s;
}

core::Error Invalid(const std::string& setting, const std::string& what) {
    return core::InvalidArgument("invalid configuration: " + setting + ": " + what);
}

const std::map<std::string, std::string>& KnownKeys() {
    // config-file key → how the setting is named in messages
    static const std::map<std::string, std::string> keys{
        {"listen", "--listen / SWITCHBOARD_LISTEN"},
        {"data-dir", "--data-dir / SWITCHBOARD_DATA_DIR"},
        {"database", "--database / SWITCHBOARD_DATABASE"},
        {"public-url", "--public-url / SWITCHBOARD_PUBLIC_URL"},
        {"apps-dir", "--apps-dir / SWITCHBOARD_APPS_DIR"},
        {"allow-private-network", "--allow-private-network / SWITCHBOARD_ALLOW_PRIVATE_NETWORK"},
        {"log-level", "--log-level / SWITCHBOARD_LOG_LEVEL"},
        {"master-key-file", "--master-key-file / SWITCHBOARD_MASTER_KEY_FILE"},
        {"oauth-clients", "--oauth-clients / SWITCHBOARD_OAUTH_CLIENTS"},
        {"workers", "--workers / SWITCHBOARD_WORKERS"},
    };
    return keys;
}

}  // namespace

Result<std::map<std::string, std::string>> ReadConfigFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Invalid("--config / SWITCHBOARD_CONFIG", "cannot read " + path);
    std::map<std::string, std::string> out;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        line = Trim(line);
        if (line.empty() || line[0] == '#' || line[0] == '[') continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) return Invalid(path + ":" + std::to_string(n), "expected key = value");
        std::string key = Trim(line.substr(0, eq));
        std::string value = Trim(line.substr(eq + 1));
        for (auto& c : key) c = c == '_' ? '-' : c;
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        if (!KnownKeys().contains(key)) return Invalid(path + ":" + std::to_string(n), "unknown setting '" + key + "'");
        out[key] = value;
    }
    return out;
}

Result<Config> ResolveConfig(const RawSettings& raw) {
    std::map<std::string, std::string> file;
    if (raw.config_file && !raw.config_file->empty()) {
        auto f = ReadConfigFile(*raw.config_file);
        if (!f) return f.error();
        file = std::move(*f);
    }
    auto pick = [&](const std::optional<std::string>& v, const std::string& key) -> std::optional<std::string> {
        if (v) return v;
        if (auto it = file.find(key); it != file.end()) return it->second;
        return std::nullopt;
    };

    Config c;
    if (auto v = pick(raw.data_dir, "data-dir")) {
        if (v->empty()) return Invalid(KnownKeys().at("data-dir"), "must not be empty");
        c.data_dir = *v;
    }
    if (auto v = pick(raw.listen, "listen")) {
        std::string s = *v;
        const auto colon = s.rfind(':');
        if (colon == std::string::npos || colon == 0) return Invalid(KnownKeys().at("listen"), "expected HOST:PORT");
        std::string host = s.substr(0, colon);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        unsigned port = 0;
        const std::string p = s.substr(colon + 1);
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
        if (ec != std::errc() || ptr != p.data() + p.size() || port > 65535) {
            return Invalid(KnownKeys().at("listen"), "port must be a number from 0 to 65535");
        }
        c.listen_host = host;
        c.listen_port = static_cast<std::uint16_t>(port);
    }
    c.database = pick(raw.database, "database").value_or("sqlite:" + c.data_dir + "/switchboard.db");
    if (c.database.rfind("sqlite:", 0) != 0 && c.database.rfind("postgres://", 0) != 0 &&
        c.database.rfind("postgresql://", 0) != 0) {
        return Invalid(KnownKeys().at("database"), "must start with sqlite: or postgres://");
    }
    if (c.is_sqlite() && c.database.size() == 7) return Invalid(KnownKeys().at("database"), "sqlite: needs a path");

    const std::string host_for_url =
        c.listen_host.find(':') != std::string::npos ? "[" + c.listen_host + "]" : c.listen_host;
    c.public_url =
        pick(raw.public_url, "public-url").value_or("http://" + host_for_url + ":" + std::to_string(c.listen_port));
    {
        auto u = boost::urls::parse_absolute_uri(c.public_url);
        if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty()) {
            return Invalid(KnownKeys().at("public-url"), "must be an absolute http(s) URL");
        }
        while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
    }
    if (auto v = pick(raw.apps_dir, "apps-dir"); v && !v->empty()) {
        if (!std::filesystem::is_directory(*v)) return Invalid(KnownKeys().at("apps-dir"), *v + " is not a directory");
        c.apps_dir = *v;
    }
    if (auto v = pick(raw.allow_private_network, "allow-private-network")) {
        if (*v == "true" || *v == "1" || *v == "yes") {
            c.allow_private_network = true;
        } else if (*v == "false" || *v == "0" || *v == "no" || v->empty()) {
            c.allow_private_network = false;
        } else {
            return Invalid(KnownKeys().at("allow-private-network"), "must be true or false");
        }
    }
    if (auto v = pick(raw.workers, "workers")) {
        int n = 0;
        auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || ptr != v->data() + v->size() || n < 1 || n > 64) {
            return Invalid(KnownKeys().at("workers"), "must be a whole number from 1 to 64");
        }
        c.workers = n;
    }
    if (auto v = pick(raw.log_level, "log-level")) {
        static const char* levels[] = {"trace", "debug", "info", "warn", "error", "off"};
        if (std::find(std::begin(levels), std::end(levels), *v) == std::end(levels)) {
            return Invalid(KnownKeys().at("log-level"), "must be one of trace, debug, info, warn, error, off");
        }
        c.log_level = *v;
    }
    c.master_key_file = pick(raw.master_key_file, "master-key-file").value_or(c.data_dir + "/master.key");
    if (auto v = pick(raw.oauth_clients, "oauth-clients"); v && !v->empty()) {
        if (!std::filesystem::is_regular_file(*v)) {
            return Invalid(KnownKeys().at("oauth-clients"), *v + " is not a file");
        }
        c.oauth_clients_file = *v;
    }
    const char* env_key = std::getenv("SWITCHBOARD_MASTER_KEY");
    c.master_key_from_env = env_key != nullptr && *env_key != '\0';
    return c;
}

}  // namespace switchboard::app
