#include "iml/template.hpp"

#include <boost/json.hpp>

#include <utility>
#include <vector>

#include "iml/eval.hpp"
#include "iml/parser.hpp"
#include "iml/values.hpp"

namespace switchboard::iml {

namespace json = boost::json;

struct Template::Impl {
    std::string source;
    std::vector<TemplatePart> parts;

    bool SingleExpression() const { return parts.size() == 1 && parts[0].expression; }

    core::Result<json::value> Render(const Context& ctx, Budget& budget) const {
        if (parts.empty()) return json::value(json::string());
        Evaluator eval(ctx, source, budget);
        if (SingleExpression()) {
            auto v = eval.Eval(*parts[0].expression);
            if (!v) return v.error();
            return std::move(*v).Take();
        }
        if (parts.size() == 1) return json::value(json::string(parts[0].literal));
        auto text = RenderText(eval, budget);
        if (!text) return text.error();
        return json::value(json::string(*text));
    }

    core::Result<std::string> RenderText(Evaluator& eval, Budget& budget) const {
        std::string out;
        for (const TemplatePart& part : parts) {
            if (!part.expression) {
                out += part.literal;
            } else {
                auto v = eval.Eval(*part.expression);
                if (!v) return v.error();
                AppendText(out, v->get());
            }
            if (out.size() > budget.bytes_left) return eval.TooLarge();
        }
        budget.bytes_left -= out.size();
        return out;
    }
};

core::Result<Template> Template::Parse(std::string_view text) {
    auto parts = ParseTemplate(text);
    if (!parts) return parts.error();
    auto impl = std::make_shared<Impl>();
    impl->source = std::string(text);
    impl->parts = std::move(*parts);
    return Template(std::move(impl));
}

core::Result<json::value> Template::Render(const Context& ctx) const {
    Budget budget{ctx.limits.max_output_bytes, ctx.limits.max_steps};
    return impl_->Render(ctx, budget);
}

core::Result<std::string> Template::RenderText(const Context& ctx) const {
    Budget budget{ctx.limits.max_output_bytes, ctx.limits.max_steps};
    Evaluator eval(ctx, impl_->source, budget);
    return impl_->RenderText(eval, budget);
}

bool Template::HasExpressions() const {
    for (const TemplatePart& part : impl_->parts) {
        if (part.expression) return true;
    }
    return false;
}

const std::string& Template::source() const { return impl_->source; }

// ---- ValueTemplate ----

struct ValueTemplate::Node {
    enum class Kind { kConstant, kTemplate, kArray, kObject };
    Kind kind = Kind::kConstant;
    json::value constant;                        // kConstant: a subtree without templates
    std::shared_ptr<const Template::Impl> text;  // kTemplate
    std::string path;                            // where this sits, for errors ("headers.authorization")
    std::vector<Node> items;                     // kArray elements, kObject values
    std::vector<std::string> keys;               // kObject: literal keys
    std::vector<std::shared_ptr<const Template::Impl>> key_templates;  // kObject: templated keys, or null
    std::vector<bool> spreads;                                         // kObject: the entry is a "{{...}}" spread
};

namespace {

std::string ChildPath(const std::string& parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return parent + "." + std::string(key);
}

core::Error WithPath(const std::string& path, const core::Error& e) {
    if (path.empty()) return e;
    return core::InvalidArgument(path + ": " + e.detail);
}

constexpr std::string_view kSpreadKey = "{{...}}";

core::Result<std::shared_ptr<const Template::Impl>> CompileText(std::string_view text, const std::string& path) {
    auto parts = ParseTemplate(text);
    if (!parts) return WithPath(path, parts.error());
    auto impl = std::make_shared<Template::Impl>();
    impl->source = std::string(text);
    impl->parts = std::move(*parts);
    return std::shared_ptr<const Template::Impl>(std::move(impl));
}

core::Result<ValueTemplate::Node> CompileNode(const json::value& spec, const std::string& path, int depth,
                                              const ValueTemplate::Options& options) {
    using Node = ValueTemplate::Node;
    if (depth > kMaxNestingDepth) {
        return core::InvalidArgument((path.empty() ? "" : path + ": ") + "value nested too deeply (limit " +
                                     std::to_string(kMaxNestingDepth) + ")");
    }
    Node node;
    node.path = path;
    switch (spec.kind()) {
        case json::kind::string: {
            const std::string_view s = spec.get_string();
            if (s.find("{{") == std::string_view::npos) {
                node.constant = spec;
                return node;
            }
            auto text = CompileText(s, path);
            if (!text) return text.error();
            node.kind = Node::Kind::kTemplate;
            node.text = std::move(*text);
            return node;
        }
        case json::kind::array: {
            node.kind = Node::Kind::kArray;
            bool constant = true;
            const auto& a = spec.get_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                auto item = CompileNode(a[i], path + "[" + std::to_string(i + 1) + "]", depth + 1, options);
                if (!item) return item.error();
                constant = constant && item->kind == Node::Kind::kConstant;
                node.items.push_back(std::move(*item));
            }
            if (constant) {
                node = Node{};
                node.constant = spec;
            }
            return node;
        }
        case json::kind::object: {
            node.kind = Node::Kind::kObject;
            bool constant = true;
            for (const auto& kv : spec.get_object()) {
                const std::string_view key = kv.key();
                const std::string child_path = ChildPath(path, key);
                const bool spread = options.spread_key && key == kSpreadKey;
                std::shared_ptr<const Template::Impl> key_template;
                if (!spread && options.template_keys && key.find("{{") != std::string_view::npos) {
                    auto compiled = CompileText(key, child_path);
                    if (!compiled) return compiled.error();
                    key_template = std::move(*compiled);
                }
                auto member = CompileNode(kv.value(), child_path, depth + 1, options);
                if (!member) return member.error();
                constant = constant && member->kind == Node::Kind::kConstant && !spread && !key_template;
                node.keys.emplace_back(key);
                node.key_templates.push_back(std::move(key_template));
                node.spreads.push_back(spread);
                node.items.push_back(std::move(*member));
            }
            if (constant) {
                node = Node{};
                node.constant = spec;
            }
            return node;
        }
        default:
            node.constant = spec;
            return node;
    }
}

core::Result<json::value> RenderNode(const ValueTemplate::Node& node, const Context& ctx, Budget& budget) {
    using Node = ValueTemplate::Node;
    switch (node.kind) {
        case Node::Kind::kConstant:
            return node.constant;
        case Node::Kind::kTemplate: {
            auto v = node.text->Render(ctx, budget);
            if (!v) return WithPath(node.path, v.error());
            return v;
        }
        case Node::Kind::kArray: {
            json::array out;
            out.reserve(node.items.size());
            for (const Node& item : node.items) {
                auto v = RenderNode(item, ctx, budget);
                if (!v) return v.error();
                out.push_back(std::move(*v));
            }
            return json::value(std::move(out));
        }
        case Node::Kind::kObject: {
            json::object out;
            out.reserve(node.items.size());
            for (std::size_t i = 0; i < node.items.size(); ++i) {
                auto v = RenderNode(node.items[i], ctx, budget);
                if (!v) return v.error();
                if (node.spreads[i]) {
                    if (v->is_null()) continue;
                    if (!v->is_object()) {
                        return core::InvalidArgument(ChildPath(node.path, node.keys[i]) +
                                                     ": the {{...}} entry must yield an object");
                    }
                    for (auto& kv : v->get_object()) out[kv.key()] = std::move(kv.value());
                    continue;
                }
                if (!node.key_templates[i]) {
                    out[node.keys[i]] = std::move(*v);
                    continue;
                }
                Evaluator eval(ctx, node.key_templates[i]->source, budget);
                auto key = node.key_templates[i]->RenderText(eval, budget);
                if (!key) return WithPath(ChildPath(node.path, node.keys[i]), key.error());
                if (!key->empty()) out[*key] = std::move(*v);
            }
            return json::value(std::move(out));
        }
    }
    return json::value();
}

}  // namespace

core::Result<ValueTemplate> ValueTemplate::Compile(const json::value& spec, const Options& options) {
    auto root = CompileNode(spec, "", 0, options);
    if (!root) return root.error();
    return ValueTemplate(std::make_shared<const Node>(std::move(*root)));
}

core::Result<json::value> ValueTemplate::Render(const Context& ctx) const {
    Budget budget{ctx.limits.max_output_bytes, ctx.limits.max_steps};
    return RenderNode(*root_, ctx, budget);
}

core::Result<json::value> RenderValue(const json::value& spec, const Context& ctx,
                                      const ValueTemplate::Options& options) {
    auto compiled = ValueTemplate::Compile(spec, options);
    if (!compiled) return compiled.error();
    return compiled->Render(ctx);
}

core::Result<std::string> RenderString(std::string_view text, const Context& ctx) {
    auto parsed = Template::Parse(text);
    if (!parsed) return parsed.error();
    return parsed->RenderText(ctx);
}

}  // namespace switchboard::iml
