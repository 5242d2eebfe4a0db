#include "http_server/message.hpp"

#include <algorithm>
#include <cctype>

namespace switchboard::http_server {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

// Names are stored lower-case by the server; comparing without case also tolerates hand-built requests (tests,
// internal callers) that did not lower-case them.
std::optional<std::string_view> Request::Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
        if (EqualsIgnoreCase(name, lower_name)) return std::string_view(value);
    }
    return std::nullopt;
}

std::optional<std::string_view> Request::Query(std::string_view key) const {
    for (const auto& [name, value] : query) {
        if (name == key) return std::string_view(value);
    }
    return std::nullopt;
}

std::vector<std::string_view> Request::QueryAll(std::string_view key) const {
    std::vector<std::string_view> values;
    for (const auto& [name, value] : query) {
        if (name == key) values.emplace_back(value);
    }
    return values;
}

}  // namespace switchboard::http_server
