#pragma once
// Small builders shared by the tests that store connections directly.
#include <string>

#include "connections/credential_store.hpp"

namespace switchboard::testing {

inline connections::NewConnection ApiKeyConnection(core::TeamId team, std::string name) {
    connections::NewConnection c;
    c.team = team;
    c.name = std::move(name);
    c.app = "http";
    c.type = "http-apikey";
    return c;
}

}  // namespace switchboard::testing
