#pragma once
// The app catalog: every app definition the server knows, loaded once at start-up from the built-in apps/
// folder and from the operator's folder (--apps-dir, SWITCHBOARD_APPS_DIR).
//
// A file with problems is reported and skipped; it never stops the server. Across files, app names and
// connection type names (the user-visible accountType) must be unique: built-in apps are loaded first and win,
// operator files are loaded in file-name order and a later file that reuses a name is skipped.
//
// Load() is called once, before the catalog is shared; afterwards it is immutable and every const member is
// safe to call from any thread. The returned pointers live as long as the Catalog.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/app.hpp"
#include "catalog/validate.hpp"

namespace switchboard::catalog {

struct FileReport {
    std::string file;
    bool builtin = false;
    bool loaded = false;  // false: skipped because of problems
    std::vector<Problem> problems;
};

struct LoadReport {
    std::vector<FileReport> files;  // every file looked at (and unreadable folders), in load order

    // No problem in any file.
    bool ok() const;
    // A built-in app has a problem: a packaging bug (tests fail on it; the server logs it and goes on).
    bool HasBuiltinProblems() const;
    std::size_t LoadedCount() const;
    // One "FILE: PATH: MESSAGE" line per problem.
    std::vector<std::string> Lines() const;
};

class Catalog {
  public:
    Catalog() = default;
    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

    // Loads every *.json file of builtin_dir, then of operator_dir ("" = none). A missing or unreadable folder
    // is reported like a broken file. Replaces whatever an earlier Load loaded (not while others read).
    LoadReport Load(const std::string& builtin_dir, const std::string& operator_dir);

    const App* FindApp(std::string_view name) const;
    // Global lookup by connection type name (accountType), e.g. "github" or "http-apikey".
    const ConnectionType* FindConnectionType(std::string_view type_name) const;
    const Module* FindModule(std::string_view app, std::string_view module) const;
    // Make's "app:module" form, e.g. "github:createIssue".
    const Module* FindModule(std::string_view qualified_name) const;
    // Every app, sorted by label (then name).
    std::vector<const App*> Apps() const;

  private:
    void LoadFolder(const std::string& dir, bool builtin, LoadReport& report);
    void Add(App app, FileReport& file);

    std::vector<std::unique_ptr<App>> apps_;
    std::map<std::string, const App*, std::less<>> apps_by_name_;
    std::map<std::string, const ConnectionType*, std::less<>> types_by_name_;
};

}  // namespace switchboard::catalog
