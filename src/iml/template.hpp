#pragma once
// IML templates, the expression language of Make's custom apps and scenario mappings: text with
// {{expression}} parts, e.g. "Bearer {{connection.accessToken}}" or "{{formatDate(1.date; \"YYYY-MM-DD\")}}".
// The language is described in docs/templates.md.
//
// Parse once, render many: a Template is immutable after Parse, cheap to copy (shared), and safe to render
// from many threads at once. Rendering never throws for bad data; every expected failure is a
// core::Result error with code kInvalidArgument and a detail that starts with the location, e.g.
// "column 7: expected ')' but found '}}'" or "column 3: formatDate: invalid date 'soon'".
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"

namespace switchboard::iml {

inline constexpr std::size_t kMaxTemplateBytes = 1024 * 1024;
inline constexpr int kMaxNestingDepth = 64;  // parentheses, calls, indexes, unary operators, nested specs

struct Limits {
    // Bytes of text, arrays and objects one render may create (all templates of one ValueTemplate together).
    std::size_t max_output_bytes = 8 * 1024 * 1024;
    // Work units for the loops inside functions (regular expression steps, sorting, de-duplication).
    std::uint64_t max_steps = 20'000'000;
};

// What expressions can see. Nothing is owned; everything must outlive the Render call.
struct Context {
    // Variables by name: "parameters", "connection", "data", "temp", "common", "oauth", "body", module
    // outputs under "1", "2", ... A missing root or path renders as null.
    const boost::json::object* root = nullptr;
    const core::Clock* clock = nullptr;  // now, timestamp, parseDate defaults; an error when used and null
    core::Random* random = nullptr;      // uuid, random, shuffle; an error when used and null
    std::string_view timezone = "UTC";   // default zone of formatDate/parseDate: IANA name or "+02:00"
    Limits limits;
};

class Template {
  public:
    // kInvalidArgument naming the column and what was expected, for syntax errors, unknown functions, a wrong
    // number of arguments, invalid constant regular expressions and templates over the size/depth limits.
    static core::Result<Template> Parse(std::string_view text);

    // A template that is exactly one {{expression}} yields that expression's typed value (number, boolean,
    // null, object, array, text); anything else yields text, with values converted as toString() does.
    core::Result<boost::json::value> Render(const Context& ctx) const;
    // Always text (a typed single-expression result converted as toString() does).
    core::Result<std::string> RenderText(const Context& ctx) const;

    bool HasExpressions() const;
    const std::string& source() const;

    struct Impl;

  private:
    explicit Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
    friend class ValueTemplate;
};

// A JSON value whose strings are templates (an app definition's url, headers, qs, body, ...), compiled once.
// Non-string values are kept as they are. Errors name the path: "headers.authorization: column 9: ...".
class ValueTemplate {
  public:
    struct Options {
        // Object keys holding {{...}} are templates too, rendered as text; an entry whose key renders empty is
        // left out (docs/apps.md: templated header and qs names).
        bool template_keys = false;
        // The key "{{...}}" merges the object its value yields into the surrounding object; keys written after
        // it win, a null adds nothing, anything else is an error (Make's universal-module spread).
        bool spread_key = false;
    };

    static core::Result<ValueTemplate> Compile(const boost::json::value& spec) { return Compile(spec, Options{}); }
    static core::Result<ValueTemplate> Compile(const boost::json::value& spec, const Options& options);
    core::Result<boost::json::value> Render(const Context& ctx) const;

    struct Node;

  private:
    explicit ValueTemplate(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
    std::shared_ptr<const Node> root_;
};

// One-shot conveniences (parse + render); prefer Template / ValueTemplate for anything rendered repeatedly.
core::Result<boost::json::value> RenderValue(const boost::json::value& spec, const Context& ctx,
                                             const ValueTemplate::Options& options = {});
core::Result<std::string> RenderString(std::string_view text, const Context& ctx);

}  // namespace switchboard::iml
