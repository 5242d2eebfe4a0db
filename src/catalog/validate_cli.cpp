#include "catalog/validate_cli.hpp"

#include "catalog/validate.hpp"

namespace switchboard::catalog {

int RunAppValidate(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
    if (files.empty()) {
        err << "usage: switchboard app validate FILE...\n";
        return 2;
    }
    bool all_valid = true;
    for (const auto& file : files) {
        const auto problems = ValidateFile(file);
        if (problems.empty()) {
            out << file << ": ok\n";
            continue;
        }
        all_valid = false;
        for (const auto& p : problems) out << file << ": " << ToString(p) << "\n";
    }
    return all_valid ? 0 : 1;
}

}  // namespace switchboard::catalog
