#include "catalog/catalog.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace switchboard::catalog {

namespace fs = std::filesystem;

bool LoadReport::ok() const {
    return std::all_of(files.begin(), files.end(), [](const FileReport& f) { return f.problems.empty(); });
}

bool LoadReport::HasBuiltinProblems() const {
    return std::any_of(files.begin(), files.end(),
                       [](const FileReport& f) { return f.builtin && !f.problems.empty(); });
}

std::size_t LoadReport::LoadedCount() const {
    return static_cast<std::size_t>(
        std::count_if(files.begin(), files.end(), [](const FileReport& f) { return f.loaded; }));
}

std::vector<std::string> LoadReport::Lines() const {
    std::vector<std::string> lines;
    for (const auto& f : files) {
        for (const auto& p : f.problems) lines.push_back(f.file + ": " + ToString(p));
    }
    return lines;
}

LoadReport Catalog::Load(const std::string& builtin_dir, const std::string& operator_dir) {
    apps_.clear();
    apps_by_name_.clear();
    types_by_name_.clear();
    LoadReport report;
    LoadFolder(builtin_dir, true, report);
    if (!operator_dir.empty()) LoadFolder(operator_dir, false, report);
    return report;
}

void Catalog::LoadFolder(const std::string& dir, bool builtin, LoadReport& report) {
    std::error_code ec;
    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec);
    if (ec) {
        report.files.push_back({dir, builtin, false, {{"$", "cannot read the apps folder: " + ec.message()}}});
        return;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const auto& path = it->path();
        const std::string name = path.filename().string();
        if (name.empty() || name[0] == '.' || path.extension() != ".json") continue;
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec)) continue;
        files.push_back(path);
    }
    if (ec) {
        report.files.push_back({dir, builtin, false, {{"$", "cannot list the apps folder: " + ec.message()}}});
    }
    std::sort(files.begin(), files.end());

    for (const auto& path : files) {
        FileReport file{path.string(), builtin, false, {}};
        if (auto doc = ReadJsonFile(file.file, file.problems)) {
            file.problems = ValidateApp(*doc);
            if (file.problems.empty()) {
                auto app = ParseApp(*doc, file.file, builtin);
                if (app) {
                    Add(std::move(*app), file);
                } else {  // unreachable: ValidateApp found nothing; kept so a parser bug is reported, not lost
                    file.problems.push_back({"$", app.error().detail});
                }
            }
        }
        report.files.push_back(std::move(file));
    }
}

void Catalog::Add(App app, FileReport& file) {
    if (auto it = apps_by_name_.find(app.name); it != apps_by_name_.end()) {
        file.problems.push_back(
            {"$.name", "app name \"" + app.name + "\" is already defined by " + it->second->source_file});
    }
    for (const auto& ct : app.connections) {
        if (auto it = types_by_name_.find(ct.name); it != types_by_name_.end()) {
            const App* owner = apps_by_name_.at(it->second->app);
            file.problems.push_back({"$.connections." + ct.name, "connection type name \"" + ct.name +
                                                                     "\" is already defined by app \"" + owner->name +
                                                                     "\" (" + owner->source_file + ")"});
        }
    }
    if (!file.problems.empty()) return;

    apps_.push_back(std::make_unique<App>(std::move(app)));
    const App* stored = apps_.back().get();
    apps_by_name_.emplace(stored->name, stored);
    for (const auto& ct : stored->connections) types_by_name_.emplace(ct.name, &ct);
    file.loaded = true;
}

const App* Catalog::FindApp(std::string_view name) const {
    auto it = apps_by_name_.find(name);
    return it == apps_by_name_.end() ? nullptr : it->second;
}

const ConnectionType* Catalog::FindConnectionType(std::string_view type_name) const {
    auto it = types_by_name_.find(type_name);
    return it == types_by_name_.end() ? nullptr : it->second;
}

const Module* Catalog::FindModule(std::string_view app, std::string_view module) const {
    const App* found = FindApp(app);
    return found == nullptr ? nullptr : found->FindModule(module);
}

const Module* Catalog::FindModule(std::string_view qualified_name) const {
    auto colon = qualified_name.find(':');
    if (colon == std::string_view::npos) return nullptr;
    return FindModule(qualified_name.substr(0, colon), qualified_name.substr(colon + 1));
}

std::vector<const App*> Catalog::Apps() const {
    std::vector<const App*> out;
    out.reserve(apps_.size());
    for (const auto& app : apps_) out.push_back(app.get());
    std::sort(out.begin(), out.end(), [](const App* a, const App* b) {
        return a->label != b->label ? a->label < b->label : a->name < b->name;
    });
    return out;
}

}  // namespace switchboard::catalog
