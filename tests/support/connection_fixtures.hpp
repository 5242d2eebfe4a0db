#pragma once
// Small builders shared by the tests that store connections directly.
#include <string>

#include "connections/credential_store.hpp"

namespace switchboard::testing {

inline store::Connection ApiKeyConnection(core::TeamId team, std::string name) {
    store::Connection c;
    c.team_id = team;
    c.name = std::move(name);
    c.app = "http";
    c.type = "http-apikey";
    return c;
}

}  // namespace switchboard::testing
