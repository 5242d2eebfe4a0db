#pragma once
// `switchboard app validate FILE…`: checks app definition files one by one.
#include <ostream>
#include <string>
#include <vector>

namespace switchboard::catalog {

// Writes "FILE: PATH: MESSAGE" to out for every problem and "FILE: ok" for every valid file. Returns 0 when
// every file is valid, 1 when any has a problem, 2 (with a usage line on err) when no file is given.
int RunAppValidate(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

}  // namespace switchboard::catalog
