#pragma once
// The parsed form of an expression: a tree built once by the parser and only read while rendering, so one
// Template can render on many threads at once.
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace switchboard::iml {

struct FunctionSpec;
class Regex;

enum class BinaryOp : std::uint8_t {
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMod,
    kEq,        // = ==
    kStrictEq,  // ===
    kNe,        // !=
    kStrictNe,  // !==
    kLt,
    kLe,
    kGt,
    kGe,
};

enum class LogicalOp : std::uint8_t {
    kAndValue,  // &&: the first falsy operand, else the last (JavaScript)
    kOrValue,   // ||: the first truthy operand, else the last
    kAndBool,   // &: true or false (Make scenarios)
    kOrBool,    // |
};

enum class UnaryOp : std::uint8_t { kNot, kNegate, kPlus };

enum class NodeKind : std::uint8_t {
    kLiteral,
    kPath,  // root variable (or a base expression) followed by .key / [index] steps
    kUnary,
    kBinary,
    kLogical,
    kCall,     // an eagerly evaluated function
    kIf,       // if(cond; then; else), lazily evaluated
    kIfEmpty,  // ifempty(value; fallback)
    kSwitch,   // switch(value; case1; result1; ...; default)
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct PathStep {
    enum class Kind : std::uint8_t { kKey, kIndex, kExpression };
    Kind kind = Kind::kKey;
    std::string key;         // kKey
    std::int64_t index = 0;  // kIndex: 1-based
    NodePtr expression;      // kExpression: [expr], a number (1-based index) or a key
};

struct Node {
    NodeKind kind = NodeKind::kLiteral;
    std::uint32_t offset = 0;  // byte offset in the template text, for error columns
    BinaryOp binary = BinaryOp::kAdd;
    LogicalOp logical = LogicalOp::kAndValue;
    UnaryOp unary = UnaryOp::kNot;
    boost::json::value literal;              // kLiteral
    std::string root;                        // kPath without a base expression
    std::vector<PathStep> steps;             // kPath
    const FunctionSpec* function = nullptr;  // kCall
    std::vector<NodePtr> children;           // operands, arguments; kPath: [base] when it has one
    std::shared_ptr<const Regex> regex;      // kCall: a constant "/regex/" argument compiled at parse time
};

}  // namespace switchboard::iml
