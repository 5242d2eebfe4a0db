#include "iml/eval.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include <cmath>
#include <limits>

#include "iml/functions.hpp"
#include "iml/parser.hpp"
#include "iml/timezone.hpp"
#include "iml/values.hpp"

namespace switchboard::iml {

namespace json = boost::json;

namespace {

const json::value* Member(const json::value& v, std::string_view key) {
    if (const auto* o = v.if_object()) return o->if_contains(key);
    return nullptr;
}

const json::value* Element(const json::value& v, std::int64_t index) {
    if (const auto* a = v.if_array()) {
        if (index >= 1 && static_cast<std::uint64_t>(index) <= a->size())
            return &(*a)[static_cast<std::size_t>(index - 1)];
        return nullptr;
    }
    if (const auto* o = v.if_object()) return o->if_contains(std::to_string(index));
    return nullptr;
}

std::string_view OperatorName(BinaryOp op) {
    switch (op) {
        case BinaryOp::kAdd:
            return "+";
        case BinaryOp::kSub:
            return "-";
        case BinaryOp::kMul:
            return "*";
        case BinaryOp::kDiv:
            return "/";
        case BinaryOp::kMod:
            return "%";
        default:
            return "?";
    }
}

std::string Quoted(const json::value& v) {
    std::string text = ToText(v);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return "'" + text + "'";
}

// Values that take part in exact 64-bit integer arithmetic.
std::optional<std::int64_t> AsInt(const json::value& v) {
    switch (v.kind()) {
        case json::kind::int64:
            return v.get_int64();
        case json::kind::uint64:
            if (v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return static_cast<std::int64_t>(v.get_uint64());
            }
            return std::nullopt;
        case json::kind::bool_:
            return v.get_bool() ? 1 : 0;
        case json::kind::null:
            return 0;
        default:
            return std::nullopt;
    }
}

}  // namespace

Evaluator::Evaluator(const Context& ctx, std::string_view source, Budget& budget)
    : ctx_(ctx), source_(source), budget_(budget) {}

core::Error Evaluator::ErrorAt(std::uint32_t offset, std::string_view what) const {
    return core::InvalidArgument(Location(source_, offset) + ": " + std::string(what));
}

core::Error Evaluator::TooLarge() const {
    return core::InvalidArgument("output exceeds the limit of " + std::to_string(ctx_.limits.max_output_bytes) +
                                 " bytes");
}

bool Evaluator::Charge(std::size_t bytes) {
    if (bytes > budget_.bytes_left) return false;
    budget_.bytes_left -= bytes;
    return true;
}

core::Result<std::int64_t> Evaluator::NowMillis() const {
    if (ctx_.clock == nullptr) return core::InvalidArgument("no clock is available here");
    return ctx_.clock->NowMillis();
}

core::Result<std::shared_ptr<const TimeZone>> Evaluator::DefaultZone() {
    if (!default_zone_) {
        auto zone = TimeZone::Find(ctx_.timezone);
        if (!zone) return zone.error();
        default_zone_ = std::move(*zone);
    }
    return default_zone_;
}

core::Result<Operand> Evaluator::Eval(const Node& node) {
    switch (node.kind) {
        case NodeKind::kLiteral:
            return Operand::Borrow(node.literal);  // the tree outlives the render
        case NodeKind::kPath:
            return EvalPath(node);
        case NodeKind::kUnary:
            return EvalUnary(node);
        case NodeKind::kBinary:
            return EvalBinary(node);
        case NodeKind::kLogical:
            return EvalLogical(node);
        case NodeKind::kCall:
            return EvalCall(node);
        case NodeKind::kIf: {
            auto cond = Eval(*node.children[0]);
            if (!cond) return cond;
            if (Truthy(cond->get())) return Eval(*node.children[1]);
            if (node.children.size() > 2) return Eval(*node.children[2]);
            return Operand();
        }
        case NodeKind::kIfEmpty: {
            auto value = Eval(*node.children[0]);
            if (!value) return value;
            if (!IsEmptyValue(value->get())) return value;
            return Eval(*node.children[1]);
        }
        case NodeKind::kSwitch:
            return EvalSwitch(node);
    }
    return Operand();
}

core::Result<Operand> Evaluator::EvalPath(const Node& node) {
    Operand base;
    const json::value* current = nullptr;
    const bool has_base = !node.children.empty();
    if (has_base) {
        auto b = Eval(*node.children[0]);
        if (!b) return b;
        base = std::move(*b);
        current = &base.get();
    } else {
        if (ctx_.root == nullptr) return Operand();
        current = ctx_.root->if_contains(node.root);
        if (current == nullptr) return Operand();
    }
    for (const PathStep& step : node.steps) {
        switch (step.kind) {
            case PathStep::Kind::kKey:
                current = Member(*current, step.key);
                break;
            case PathStep::Kind::kIndex:
                current = Element(*current, step.index);
                break;
            case PathStep::Kind::kExpression: {
                auto key = Eval(*step.expression);
                if (!key) return key;
                const json::value& k = key->get();
                if (k.is_string()) {
                    current = Member(*current, k.get_string());
                } else if (auto n = ToNumber(k); n && IsNumber(k) && std::trunc(*n) == *n && std::fabs(*n) < 1e15) {
                    current = Element(*current, static_cast<std::int64_t>(*n));
                } else {
                    current = nullptr;
                }
                break;
            }
        }
        if (current == nullptr) return Operand();
    }
    if (!has_base) return Operand::Borrow(*current);
    return base.Part(*current);
}

core::Result<Operand> Evaluator::EvalUnary(const Node& node) {
    auto operand = Eval(*node.children[0]);
    if (!operand) return operand;
    const json::value& v = operand->get();
    if (node.unary == UnaryOp::kNot) return Operand::Own(json::value(!Truthy(v)));
    if (node.unary == UnaryOp::kNegate && v.is_int64() && v.get_int64() != std::numeric_limits<std::int64_t>::min()) {
        return Operand::Own(json::value(-v.get_int64()));
    }
    const auto n = ToNumber(v);
    if (!n) return ErrorAt(node.offset, "expected a number, got " + Quoted(v));
    return Operand::Own(MakeNumber(node.unary == UnaryOp::kNegate ? -*n : *n));
}

core::Result<Operand> Evaluator::EvalBinary(const Node& node) {
    auto left = Eval(*node.children[0]);
    if (!left) return left;
    auto right = Eval(*node.children[1]);
    if (!right) return right;
    const json::value& a = left->get();
    const json::value& b = right->get();
    switch (node.binary) {
        case BinaryOp::kEq:
            return Operand::Own(json::value(LooseEquals(a, b)));
        case BinaryOp::kNe:
            return Operand::Own(json::value(!LooseEquals(a, b)));
        case BinaryOp::kStrictEq:
            return Operand::Own(json::value(StrictEquals(a, b)));
        case BinaryOp::kStrictNe:
            return Operand::Own(json::value(!StrictEquals(a, b)));
        case BinaryOp::kLt:
        case BinaryOp::kLe:
        case BinaryOp::kGt:
        case BinaryOp::kGe: {
            const auto order = Compare(a, b);
            bool result = false;
            if (order) {
                switch (node.binary) {
                    case BinaryOp::kLt:
                        result = *order < 0;
                        break;
                    case BinaryOp::kLe:
                        result = *order <= 0;
                        break;
                    case BinaryOp::kGt:
                        result = *order > 0;
                        break;
                    default:
                        result = *order >= 0;
                }
            }
            return Operand::Own(json::value(result));
        }
        case BinaryOp::kAdd:
            if (a.is_string() || b.is_string() || a.is_structured() || b.is_structured()) {
                std::string text;
                AppendText(text, a);
                AppendText(text, b);
                if (!Charge(text.size())) return ErrorAt(node.offset, TooLarge().detail);
                return Operand::Own(json::value(json::string(text)));
            }
            return Arithmetic(node, a, b);
        default:
            return Arithmetic(node, a, b);
    }
}

core::Result<Operand> Evaluator::Arithmetic(const Node& node, const json::value& a, const json::value& b) {
    const auto ia = AsInt(a);
    const auto ib = AsInt(b);
    if (ia && ib) {
        std::int64_t r = 0;
        switch (node.binary) {
            case BinaryOp::kAdd:
                if (!__builtin_add_overflow(*ia, *ib, &r)) return Operand::Own(json::value(r));
                break;
            case BinaryOp::kSub:
                if (!__builtin_sub_overflow(*ia, *ib, &r)) return Operand::Own(json::value(r));
                break;
            case BinaryOp::kMul:
                if (!__builtin_mul_overflow(*ia, *ib, &r)) return Operand::Own(json::value(r));
                break;
            case BinaryOp::kDiv:
                if (*ib == 0) return ErrorAt(node.offset, "division by zero");
                if (*ib != -1 && *ia % *ib == 0) return Operand::Own(json::value(*ia / *ib));
                break;
            case BinaryOp::kMod:
                if (*ib == 0) return ErrorAt(node.offset, "division by zero");
                if (*ib == -1) return Operand::Own(json::value(std::int64_t{0}));
                return Operand::Own(json::value(*ia % *ib));
            default:
                break;
        }
    }
    const auto x = ToNumber(a);
    const auto y = ToNumber(b);
    if (!x || !y) {
        return ErrorAt(node.offset, "operator '" + std::string(OperatorName(node.binary)) + "' expects numbers, got " +
                                        Quoted(x ? b : a));
    }
    double r = 0;
    switch (node.binary) {
        case BinaryOp::kAdd:
            r = *x + *y;
            break;
        case BinaryOp::kSub:
            r = *x - *y;
            break;
        case BinaryOp::kMul:
            r = *x * *y;
            break;
        case BinaryOp::kDiv:
            if (*y == 0) return ErrorAt(node.offset, "division by zero");
            r = *x / *y;
            break;
        case BinaryOp::kMod:
            if (*y == 0) return ErrorAt(node.offset, "division by zero");
            r = std::fmod(*x, *y);
            break;
        default:
            break;
    }
    if (!std::isfinite(r)) return ErrorAt(node.offset, "number out of range");
    return Operand::Own(MakeNumber(r));
}

core::Result<Operand> Evaluator::EvalLogical(const Node& node) {
    auto left = Eval(*node.children[0]);
    if (!left) return left;
    const bool truthy = Truthy(left->get());
    switch (node.logical) {
        case LogicalOp::kAndValue:
            if (!truthy) return left;
            return Eval(*node.children[1]);
        case LogicalOp::kOrValue:
            if (truthy) return left;
            return Eval(*node.children[1]);
        case LogicalOp::kAndBool:
        case LogicalOp::kOrBool: {
            const bool is_and = node.logical == LogicalOp::kAndBool;
            if (truthy != is_and) return Operand::Own(json::value(truthy));
            auto right = Eval(*node.children[1]);
            if (!right) return right;
            return Operand::Own(json::value(Truthy(right->get())));
        }
    }
    return Operand();
}

core::Result<Operand> Evaluator::EvalSwitch(const Node& node) {
    auto value = Eval(*node.children[0]);
    if (!value) return value;
    std::size_t i = 1;
    for (; i + 1 < node.children.size(); i += 2) {
        auto candidate = Eval(*node.children[i]);
        if (!candidate) return candidate;
        if (LooseEquals(value->get(), candidate->get())) return Eval(*node.children[i + 1]);
    }
    if (i < node.children.size()) return Eval(*node.children[i]);  // the default
    return Operand();
}

core::Result<Operand> Evaluator::EvalCall(const Node& node) {
    boost::container::small_vector<Operand, 4> args;
    args.reserve(node.children.size());
    for (const auto& child : node.children) {
        auto arg = Eval(*child);
        if (!arg) return arg;
        args.push_back(std::move(*arg));
    }
    Call call{*this, node, std::span<Operand>(args.data(), args.size())};
    auto result = node.function->impl(call);
    if (!result) {
        return ErrorAt(node.offset, std::string(node.function->name) + ": " + result.error().detail);
    }
    if (!result->borrowed()) {
        const json::value& v = result->get();
        const std::size_t size = v.is_string()       ? v.get_string().size()
                                 : v.is_structured() ? ApproxSize(v, budget_.bytes_left + 1)
                                                     : 0;
        if (!Charge(size)) return ErrorAt(node.offset, std::string(node.function->name) + ": " + TooLarge().detail);
    }
    return result;
}

}  // namespace switchboard::iml
