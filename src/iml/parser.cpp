#include "iml/parser.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "iml/functions.hpp"
#include "iml/regex.hpp"
#include "iml/template.hpp"
#include "iml/utf8.hpp"
#include "iml/values.hpp"

namespace switchboard::iml {

namespace {

enum class TokenKind : std::uint8_t {
    kClose,  // }}
    kEof,
    kNumber,
    kString,
    kIdentifier,
    kQuotedName,  // `Customer Name`
    kRegex,
    kLParen,
    kRParen,
    kLBracket,
    kRBracket,
    kDot,
    kSeparator,  // , or ;
    kOperator,
};

enum class OpToken : std::uint8_t {
    kNone,
    kEq,
    kEqEq,
    kEqEqEq,
    kNe,
    kNeEq,
    kNot,
    kLt,
    kLe,
    kGt,
    kGe,
    kAnd,
    kAndAnd,
    kOr,
    kOrOr,
    kPlus,
    kMinus,
    kStar,
    kSlash,
    kPercent,
};

struct Token {
    TokenKind kind = TokenKind::kEof;
    OpToken op = OpToken::kNone;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::string text;      // decoded string, identifier, quoted name, regex literal
    bool integer = false;  // kNumber: int_value holds it; otherwise text is parsed as a double
    std::int64_t int_value = 0;
};

bool IsIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Describe(const Token& t, std::string_view source) {
    switch (t.kind) {
        case TokenKind::kClose:
            return "'}}'";
        case TokenKind::kEof:
            return "the end of the template";
        default:
            return "'" + std::string(source.substr(t.offset, std::min<std::uint32_t>(t.length, 40))) + "'";
    }
}

class Lexer {
  public:
    explicit Lexer(std::string_view source) : source_(source) {}

    void Reset(std::size_t pos) { pos_ = pos; }
    std::size_t position() const { return pos_; }

    core::Result<Token> Next() {
        SkipSpace();
        Token t;
        t.offset = static_cast<std::uint32_t>(pos_);
        if (pos_ >= source_.size()) {
            t.kind = TokenKind::kEof;
            return t;
        }
        const char c = source_[pos_];
        auto single = [&](TokenKind kind, std::size_t length = 1, OpToken op = OpToken::kNone) {
            t.kind = kind;
            t.op = op;
            t.length = static_cast<std::uint32_t>(length);
            pos_ += length;
            return t;
        };
        auto next_is = [&](std::string_view s) { return source_.substr(pos_, s.size()) == s; };
        switch (c) {
            case '}':
                if (next_is("}}")) return single(TokenKind::kClose, 2);
                return Error(pos_, "unexpected '}'");
            case '(':
                return single(TokenKind::kLParen);
            case ')':
                return single(TokenKind::kRParen);
            case '[':
                return single(TokenKind::kLBracket);
            case ']':
                return single(TokenKind::kRBracket);
            case '.':
                return single(TokenKind::kDot);
            case ',':
            case ';':
                return single(TokenKind::kSeparator);
            case '=':
                if (next_is("===")) return single(TokenKind::kOperator, 3, OpToken::kEqEqEq);
                if (next_is("==")) return single(TokenKind::kOperator, 2, OpToken::kEqEq);
                return single(TokenKind::kOperator, 1, OpToken::kEq);
            case '!':
                if (next_is("!==")) return single(TokenKind::kOperator, 3, OpToken::kNeEq);
                if (next_is("!=")) return single(TokenKind::kOperator, 2, OpToken::kNe);
                return single(TokenKind::kOperator, 1, OpToken::kNot);
            case '<':
                if (next_is("<=")) return single(TokenKind::kOperator, 2, OpToken::kLe);
                return single(TokenKind::kOperator, 1, OpToken::kLt);
            case '>':
                if (next_is(">=")) return single(TokenKind::kOperator, 2, OpToken::kGe);
                return single(TokenKind::kOperator, 1, OpToken::kGt);
            case '&':
                if (next_is("&&")) return single(TokenKind::kOperator, 2, OpToken::kAndAnd);
                return single(TokenKind::kOperator, 1, OpToken::kAnd);
            case '|':
                if (next_is("||")) return single(TokenKind::kOperator, 2, OpToken::kOrOr);
                return single(TokenKind::kOperator, 1, OpToken::kOr);
            case '+':
                return single(TokenKind::kOperator, 1, OpToken::kPlus);
            case '-':
                return single(TokenKind::kOperator, 1, OpToken::kMinus);
            case '*':
                return single(TokenKind::kOperator, 1, OpToken::kStar);
            case '/':
                return single(TokenKind::kOperator, 1, OpToken::kSlash);
            case '%':
                return single(TokenKind::kOperator, 1, OpToken::kPercent);
            case '"':
            case '\'':
                return String(c);
            case '`':
                return QuotedName();
            default:
                break;
        }
        if (IsDigit(c)) return Number();
        if (IsIdentStart(c)) {
            const std::size_t start = pos_;
            while (pos_ < source_.size() && IsIdentChar(source_[pos_])) ++pos_;
            t.kind = TokenKind::kIdentifier;
            t.text = std::string(source_.substr(start, pos_ - start));
            t.length = static_cast<std::uint32_t>(pos_ - start);
            return t;
        }
        const CodePoint cp = DecodeUtf8(source_, pos_);
        return Error(pos_, "unexpected character '" + std::string(source_.substr(pos_, cp.length)) + "'");
    }

    // A /pattern/flags literal starting at `offset` (the parser saw '/' where an operand belongs).
    core::Result<Token> Regex(std::size_t offset) {
        pos_ = offset + 1;
        bool in_class = false;
        while (true) {
            if (pos_ >= source_.size() || source_[pos_] == '\n' || source_[pos_] == '\r') {
                return Error(offset, "unterminated regular expression");
            }
            const char c = source_[pos_];
            if (c == '\\') {
                pos_ += 2;
                continue;
            }
            if (c == '[') in_class = true;
            if (c == ']') in_class = false;
            ++pos_;
            if (c == '/' && !in_class) break;
        }
        while (pos_ < source_.size() && source_[pos_] >= 'a' && source_[pos_] <= 'z') ++pos_;
        Token t;
        t.kind = TokenKind::kRegex;
        t.offset = static_cast<std::uint32_t>(offset);
        t.length = static_cast<std::uint32_t>(pos_ - offset);
        t.text = std::string(source_.substr(offset, pos_ - offset));
        return t;
    }

  private:
    core::Error Error(std::size_t at, std::string what) const {
        return core::InvalidArgument(Location(source_, at) + ": " + what);
    }

    void SkipSpace() {
        while (pos_ < source_.size() &&
               (source_[pos_] == ' ' || source_[pos_] == '\t' || source_[pos_] == '\n' || source_[pos_] == '\r')) {
            ++pos_;
        }
    }

    core::Result<Token> Number() {
        Token t;
        t.offset = static_cast<std::uint32_t>(pos_);
        const std::size_t start = pos_;
        while (pos_ < source_.size() && IsDigit(source_[pos_])) ++pos_;
        // "1.subject", "2.`Customer Name`": a module id heading a path, not a number.
        if (pos_ + 1 < source_.size() && source_[pos_] == '.' &&
            (IsIdentStart(source_[pos_ + 1]) || source_[pos_ + 1] == '`')) {
            t.kind = TokenKind::kIdentifier;
            t.text = std::string(source_.substr(start, pos_ - start));
            t.length = static_cast<std::uint32_t>(pos_ - start);
            return t;
        }
        bool integer = true;
        if (pos_ + 1 < source_.size() && source_[pos_] == '.' && IsDigit(source_[pos_ + 1])) {
            integer = false;
            ++pos_;
            while (pos_ < source_.size() && IsDigit(source_[pos_])) ++pos_;
        }
        if (pos_ < source_.size() && (source_[pos_] == 'e' || source_[pos_] == 'E')) {
            std::size_t p = pos_ + 1;
            if (p < source_.size() && (source_[p] == '+' || source_[p] == '-')) ++p;
            if (p < source_.size() && IsDigit(source_[p])) {
                integer = false;
                pos_ = p;
                while (pos_ < source_.size() && IsDigit(source_[pos_])) ++pos_;
            }
        }
        if (pos_ < source_.size() && IsIdentStart(source_[pos_])) {
            return Error(pos_, "unexpected character '" + std::string(1, source_[pos_]) + "' after a number");
        }
        const std::string_view text = source_.substr(start, pos_ - start);
        t.kind = TokenKind::kNumber;
        t.length = static_cast<std::uint32_t>(text.size());
        t.text = std::string(text);
        if (integer) {
            auto r = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
            t.integer = r.ec == std::errc() && r.ptr == text.data() + text.size();
        }
        return t;
    }

    std::optional<char32_t> Hex4(std::size_t at) const {
        if (at + 4 > source_.size()) return std::nullopt;
        char32_t v = 0;
        for (std::size_t i = at; i < at + 4; ++i) {
            const char c = source_[i];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= static_cast<char32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= static_cast<char32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v |= static_cast<char32_t>(c - 'A' + 10);
            } else {
                return std::nullopt;
            }
        }
        return v;
    }

    // Escapes: \n \r \t \b \f \v \0 \\ \' \" \` \/ \uXXXX. Any other backslash is kept, so "/\d+/" reaches
    // the regex engine intact.
    core::Result<Token> String(char quote) {
        Token t;
        t.kind = TokenKind::kString;
        t.offset = static_cast<std::uint32_t>(pos_);
        ++pos_;
        while (true) {
            if (pos_ >= source_.size()) return Error(t.offset, "unterminated string");
            const char c = source_[pos_];
            if (c == quote) {
                ++pos_;
                break;
            }
            if (c != '\\' || pos_ + 1 >= source_.size()) {
                t.text.push_back(c);
                ++pos_;
                continue;
            }
            const char e = source_[pos_ + 1];
            pos_ += 2;
            switch (e) {
                case 'n':
                    t.text.push_back('\n');
                    break;
                case 'r':
                    t.text.push_back('\r');
                    break;
                case 't':
                    t.text.push_back('\t');
                    break;
                case 'b':
                    t.text.push_back('\b');
                    break;
                case 'f':
                    t.text.push_back('\f');
                    break;
                case 'v':
                    t.text.push_back('\v');
                    break;
                case '0':
                    t.text.push_back('\0');
                    break;
                case '\\':
                case '\'':
                case '"':
                case '`':
                case '/':
                    t.text.push_back(e);
                    break;
                case 'u': {
                    auto cp = Hex4(pos_);
                    if (!cp) {
                        t.text += "\\u";
                        break;
                    }
                    pos_ += 4;
                    char32_t value = *cp;
                    if (value >= 0xD800 && value <= 0xDBFF && source_.substr(pos_, 2) == "\\u") {
                        auto low = Hex4(pos_ + 2);
                        if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
                            value = 0x10000 + ((value - 0xD800) << 10) + (*low - 0xDC00);
                            pos_ += 6;
                        }
                    }
                    if (value >= 0xD800 && value <= 0xDFFF) value = 0xFFFD;  // a lone surrogate
                    AppendUtf8(t.text, value);
                    break;
                }
                default:
                    t.text.push_back('\\');
                    t.text.push_back(e);
            }
        }
        t.length = static_cast<std::uint32_t>(pos_ - t.offset);
        return t;
    }

    core::Result<Token> QuotedName() {
        Token t;
        t.kind = TokenKind::kQuotedName;
        t.offset = static_cast<std::uint32_t>(pos_);
        const std::size_t end = source_.find('`', pos_ + 1);
        if (end == std::string_view::npos) return Error(pos_, "unterminated `quoted name`");
        t.text = std::string(source_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        t.length = static_cast<std::uint32_t>(pos_ - t.offset);
        return t;
    }

    std::string_view source_;
    std::size_t pos_ = 0;
};

class Parser {
  public:
    explicit Parser(std::string_view source) : source_(source), lexer_(source) {}

    // Parses one expression starting at `pos` (just after "{{") through its "}}"; returns the position after.
    core::Result<NodePtr> Expression(std::size_t pos, std::size_t& end) {
        lexer_.Reset(pos);
        has_peek_ = false;
        auto peek = Peek();
        if (!peek) return peek.error();
        if ((*peek)->kind == TokenKind::kClose || (*peek)->kind == TokenKind::kEof) {
            return Error((*peek)->offset, "expected an expression");
        }
        auto node = Or(0);
        if (!node) return node.error();
        auto close = Take();
        if (!close) return close.error();
        if (close->kind != TokenKind::kClose) {
            return Error(close->offset, "expected '}}' but found " + Describe(*close, source_));
        }
        end = close->offset + 2;
        return node;
    }

  private:
    struct Built {
        NodePtr node;
        int height = 1;
    };

    core::Error Error(std::size_t at, std::string what) const {
        return core::InvalidArgument(Location(source_, at) + ": " + what);
    }

    core::Result<const Token*> Peek() {
        if (!has_peek_) {
            auto t = lexer_.Next();
            if (!t) return t.error();
            peek_ = std::move(*t);
            has_peek_ = true;
        }
        return &peek_;
    }

    core::Result<Token> Take() {
        auto p = Peek();
        if (!p) return p.error();
        has_peek_ = false;
        return std::move(peek_);
    }

    core::Result<std::optional<OpToken>> PeekOperator(std::initializer_list<OpToken> ops) {
        auto p = Peek();
        if (!p) return p.error();
        if ((*p)->kind != TokenKind::kOperator) return std::optional<OpToken>();
        for (OpToken op : ops) {
            if ((*p)->op == op) return std::optional<OpToken>(op);
        }
        return std::optional<OpToken>();
    }

    core::Result<Built> CheckHeight(Built b) {
        if (b.height > kMaxExpressionHeight) {
            return Error(b.node->offset, "expression is too long or nested too deeply (limit " +
                                             std::to_string(kMaxExpressionHeight) + " levels)");
        }
        return b;
    }

    core::Result<Built> Combine(NodeKind kind, std::uint32_t offset, Built left, Built right) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->offset = offset;
        const int height = std::max(left.height, right.height) + 1;
        n->children.push_back(std::move(left.node));
        n->children.push_back(std::move(right.node));
        return CheckHeight({std::move(n), height});
    }

    // One left-associative precedence level.
    template <class Next, class Apply>
    core::Result<Built> Level(int depth, std::initializer_list<OpToken> ops, Next next, Apply apply) {
        auto left = (this->*next)(depth);
        if (!left) return left;
        while (true) {
            auto op = PeekOperator(ops);
            if (!op) return op.error();
            if (!*op) return left;
            const std::uint32_t offset = peek_.offset;
            has_peek_ = false;
            auto right = (this->*next)(depth);
            if (!right) return right;
            auto combined = Combine(NodeKind::kBinary, offset, std::move(*left), std::move(*right));
            if (!combined) return combined;
            apply(*combined->node, **op);
            left = std::move(combined);
        }
    }

    core::Result<NodePtr> Or(int depth) {
        auto b = OrLevel(depth);
        if (!b) return b.error();
        return std::move(b->node);
    }

    core::Result<Built> OrLevel(int depth) {
        return Level(depth, {OpToken::kOr, OpToken::kOrOr}, &Parser::AndLevel, [](Node& n, OpToken op) {
            n.kind = NodeKind::kLogical;
            n.logical = op == OpToken::kOrOr ? LogicalOp::kOrValue : LogicalOp::kOrBool;
        });
    }

    core::Result<Built> AndLevel(int depth) {
        return Level(depth, {OpToken::kAnd, OpToken::kAndAnd}, &Parser::EqualityLevel, [](Node& n, OpToken op) {
            n.kind = NodeKind::kLogical;
            n.logical = op == OpToken::kAndAnd ? LogicalOp::kAndValue : LogicalOp::kAndBool;
        });
    }

    core::Result<Built> EqualityLevel(int depth) {
        return Level(depth, {OpToken::kEq, OpToken::kEqEq, OpToken::kEqEqEq, OpToken::kNe, OpToken::kNeEq},
                     &Parser::RelationalLevel, [](Node& n, OpToken op) {
                         switch (op) {
                             case OpToken::kEqEqEq:
                                 n.binary = BinaryOp::kStrictEq;
                                 break;
                             case OpToken::kNe:
                                 n.binary = BinaryOp::kNe;
                                 break;
                             case OpToken::kNeEq:
                                 n.binary = BinaryOp::kStrictNe;
                                 break;
                             default:
                                 n.binary = BinaryOp::kEq;
                         }
                     });
    }

    core::Result<Built> RelationalLevel(int depth) {
        return Level(depth, {OpToken::kLt, OpToken::kLe, OpToken::kGt, OpToken::kGe}, &Parser::AdditiveLevel,
                     [](Node& n, OpToken op) {
                         n.binary = op == OpToken::kLt   ? BinaryOp::kLt
                                    : op == OpToken::kLe ? BinaryOp::kLe
                                    : op == OpToken::kGt ? BinaryOp::kGt
                                                         : BinaryOp::kGe;
                     });
    }

    core::Result<Built> AdditiveLevel(int depth) {
        return Level(depth, {OpToken::kPlus, OpToken::kMinus}, &Parser::MultiplicativeLevel,
                     [](Node& n, OpToken op) { n.binary = op == OpToken::kPlus ? BinaryOp::kAdd : BinaryOp::kSub; });
    }

    core::Result<Built> MultiplicativeLevel(int depth) {
        return Level(depth, {OpToken::kStar, OpToken::kSlash, OpToken::kPercent}, &Parser::UnaryLevel,
                     [](Node& n, OpToken op) {
                         n.binary = op == OpToken::kStar    ? BinaryOp::kMul
                                    : op == OpToken::kSlash ? BinaryOp::kDiv
                                                            : BinaryOp::kMod;
                     });
    }

    core::Result<Built> UnaryLevel(int depth) {
        auto op = PeekOperator({OpToken::kNot, OpToken::kMinus, OpToken::kPlus});
        if (!op) return op.error();
        if (!*op) return PostfixLevel(depth);
        const std::uint32_t offset = peek_.offset;
        if (depth + 1 > kMaxNestingDepth) return TooDeep(offset);
        has_peek_ = false;
        auto operand = UnaryLevel(depth + 1);
        if (!operand) return operand;
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kUnary;
        n->offset = offset;
        n->unary = **op == OpToken::kNot ? UnaryOp::kNot : **op == OpToken::kMinus ? UnaryOp::kNegate : UnaryOp::kPlus;
        const int height = operand->height + 1;
        n->children.push_back(std::move(operand->node));
        return CheckHeight({std::move(n), height});
    }

    core::Error TooDeep(std::uint32_t offset) const {
        return Error(offset, "expression nested too deeply (limit " + std::to_string(kMaxNestingDepth) + ")");
    }

    core::Result<Built> PostfixLevel(int depth) {
        auto primary = Primary(depth);
        if (!primary) return primary;
        Built current = std::move(*primary);
        while (true) {
            auto p = Peek();
            if (!p) return p.error();
            const TokenKind kind = (*p)->kind;
            if (kind != TokenKind::kDot && kind != TokenKind::kLBracket) return current;
            const std::uint32_t offset = (*p)->offset;
            has_peek_ = false;
            if (current.node->kind != NodeKind::kPath) {
                auto path = std::make_unique<Node>();
                path->kind = NodeKind::kPath;
                path->offset = current.node->offset;
                path->children.push_back(std::move(current.node));
                current.node = std::move(path);
                ++current.height;
            }
            PathStep step;
            if (kind == TokenKind::kDot) {
                auto name = Take();
                if (!name) return name.error();
                if (name->kind != TokenKind::kIdentifier && name->kind != TokenKind::kQuotedName &&
                    name->kind != TokenKind::kNumber) {
                    return Error(name->offset, "expected a property name after '.'");
                }
                step.kind = PathStep::Kind::kKey;
                step.key = name->text;
            } else {
                if (depth + 1 > kMaxNestingDepth) return TooDeep(offset);
                auto index = OrLevel(depth + 1);
                if (!index) return index;
                auto close = Take();
                if (!close) return close.error();
                if (close->kind != TokenKind::kRBracket) {
                    return Error(close->offset, "expected ']' but found " + Describe(*close, source_));
                }
                const Node& ix = *index->node;
                if (ix.kind == NodeKind::kLiteral && ix.literal.is_int64()) {
                    step.kind = PathStep::Kind::kIndex;
                    step.index = ix.literal.get_int64();
                } else if (ix.kind == NodeKind::kLiteral && ix.literal.is_string()) {
                    step.kind = PathStep::Kind::kKey;
                    step.key = std::string(ix.literal.get_string());
                } else {
                    step.kind = PathStep::Kind::kExpression;
                    current.height = std::max(current.height, index->height + 1);
                    step.expression = std::move(index->node);
                }
            }
            current.node->steps.push_back(std::move(step));
            auto checked = CheckHeight(std::move(current));
            if (!checked) return checked;
            current = std::move(*checked);
        }
    }

    static NodePtr Literal(std::uint32_t offset, boost::json::value v) {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kLiteral;
        n->offset = offset;
        n->literal = std::move(v);
        return n;
    }

    core::Result<Built> Primary(int depth) {
        auto token = Take();
        if (!token) return token.error();
        Token& t = *token;
        switch (t.kind) {
            case TokenKind::kNumber:
                if (t.integer) return Built{Literal(t.offset, boost::json::value(t.int_value))};
                return Built{Literal(t.offset, MakeNumberLiteral(t))};
            case TokenKind::kString:
                return Built{Literal(t.offset, boost::json::value(boost::json::string(t.text)))};
            case TokenKind::kOperator:
                if (t.op == OpToken::kSlash) {
                    auto regex = lexer_.Regex(t.offset);
                    if (!regex) return regex.error();
                    return Built{Literal(t.offset, boost::json::value(boost::json::string(regex->text)))};
                }
                break;
            case TokenKind::kLParen: {
                if (depth + 1 > kMaxNestingDepth) return TooDeep(t.offset);
                auto inner = OrLevel(depth + 1);
                if (!inner) return inner;
                auto close = Take();
                if (!close) return close.error();
                if (close->kind != TokenKind::kRParen) {
                    return Error(close->offset, "expected ')' but found " + Describe(*close, source_));
                }
                return inner;
            }
            case TokenKind::kQuotedName: {
                auto n = std::make_unique<Node>();
                n->kind = NodeKind::kPath;
                n->offset = t.offset;
                n->root = std::move(t.text);
                return Built{std::move(n)};
            }
            case TokenKind::kIdentifier:
                return Identifier(std::move(t), depth);
            default:
                break;
        }
        return Error(t.offset, "expected an expression but found " + Describe(t, source_));
    }

    static boost::json::value MakeNumberLiteral(const Token& t) {
        double d = 0;
        auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), d);
        if (r.ec == std::errc::result_out_of_range) {
            // Huge literals: the largest finite double, like JavaScript's rounding to Infinity but still JSON.
            const bool tiny = t.text.find("e-") != std::string::npos || t.text.find("E-") != std::string::npos;
            d = tiny ? 0.0 : 1.7976931348623157e308;
        }
        return MakeNumber(d);
    }

    core::Result<Built> Identifier(Token t, int depth) {
        auto p = Peek();
        if (!p) return p.error();
        const bool call = (*p)->kind == TokenKind::kLParen;
        if (!call) {
            if (t.text == "true") return Built{Literal(t.offset, boost::json::value(true))};
            if (t.text == "false") return Built{Literal(t.offset, boost::json::value(false))};
            if (t.text == "null" || t.text == "undefined") return Built{Literal(t.offset, boost::json::value())};
            if (auto constant = KeywordConstant(t.text)) return Built{Literal(t.offset, std::move(*constant))};
            if (IsFunctionKeyword(t.text)) {
                auto n = std::make_unique<Node>();
                n->kind = NodeKind::kCall;
                n->offset = t.offset;
                n->function = FindFunction(t.text);
                return Built{std::move(n)};
            }
            auto n = std::make_unique<Node>();
            n->kind = NodeKind::kPath;
            n->offset = t.offset;
            n->root = std::move(t.text);
            return Built{std::move(n)};
        }
        const FunctionSpec* spec = FindFunction(t.text);
        if (spec == nullptr) return Error(t.offset, "unknown function '" + t.text + "'");
        if (depth + 1 > kMaxNestingDepth) return TooDeep(t.offset);
        has_peek_ = false;  // '('
        auto n = std::make_unique<Node>();
        n->offset = t.offset;
        n->function = spec;
        int height = 1;
        auto next = Peek();
        if (!next) return next.error();
        if ((*next)->kind == TokenKind::kRParen) {
            has_peek_ = false;
        } else {
            while (true) {
                auto q = Peek();
                if (!q) return q.error();
                if ((*q)->kind == TokenKind::kSeparator || (*q)->kind == TokenKind::kRParen) {
                    n->children.push_back(Literal((*q)->offset, boost::json::value()));  // an empty argument
                } else {
                    auto arg = OrLevel(depth + 1);
                    if (!arg) return arg;
                    height = std::max(height, arg->height + 1);
                    n->children.push_back(std::move(arg->node));
                }
                if (n->children.size() > static_cast<std::size_t>(kMaxArguments)) {
                    return Error(t.offset, "too many arguments to '" + t.text + "'");
                }
                auto sep = Take();
                if (!sep) return sep.error();
                if (sep->kind == TokenKind::kRParen) break;
                if (sep->kind != TokenKind::kSeparator) {
                    return Error(sep->offset, "expected ')' but found " + Describe(*sep, source_));
                }
            }
        }
        const int count = static_cast<int>(n->children.size());
        if (count < spec->min_args || (spec->max_args >= 0 && count > spec->max_args)) {
            std::string expected;
            if (spec->min_args == spec->max_args) {
                expected = std::to_string(spec->min_args);
            } else if (spec->max_args < 0) {
                expected = "at least " + std::to_string(spec->min_args);
            } else {
                expected = std::to_string(spec->min_args) + " to " + std::to_string(spec->max_args);
            }
            const int last = spec->max_args < 0 ? spec->min_args : spec->max_args;
            return Error(t.offset, "function '" + t.text + "' expects " + expected + " argument" +
                                       (last == 1 ? "" : "s") + ", got " + std::to_string(count));
        }
        switch (spec->form) {
            case SpecialForm::kIf:
                n->kind = NodeKind::kIf;
                break;
            case SpecialForm::kIfEmpty:
                n->kind = NodeKind::kIfEmpty;
                break;
            case SpecialForm::kSwitch:
                n->kind = NodeKind::kSwitch;
                break;
            case SpecialForm::kNone:
                n->kind = NodeKind::kCall;
                break;
        }
        if (spec->regex_arg >= 0 && spec->regex_arg < count) {
            const Node& arg = *n->children[static_cast<std::size_t>(spec->regex_arg)];
            if (arg.kind == NodeKind::kLiteral && arg.literal.is_string()) {
                if (auto parts = Regex::SplitLiteral(arg.literal.get_string())) {
                    auto compiled = Regex::Compile(parts->first, parts->second);
                    if (!compiled) return Error(arg.offset, compiled.error().detail);
                    n->regex = std::make_shared<const Regex>(std::move(*compiled));
                }
            }
        }
        return CheckHeight({std::move(n), height + 1});
    }

    std::string_view source_;
    Lexer lexer_;
    Token peek_;
    bool has_peek_ = false;
};

}  // namespace

std::string Location(std::string_view source, std::size_t offset) {
    offset = std::min(offset, source.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (source[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    const std::size_t column = CodePointIndex(source.substr(line_start), offset - line_start) + 1;
    if (line == 1 && source.find('\n') == std::string_view::npos) return "column " + std::to_string(column);
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

core::Result<std::vector<TemplatePart>> ParseTemplate(std::string_view source) {
    if (source.size() > kMaxTemplateBytes) {
        return core::InvalidArgument("template is longer than " + std::to_string(kMaxTemplateBytes) + " bytes");
    }
    std::vector<TemplatePart> parts;
    Parser parser(source);
    std::size_t pos = 0;
    while (pos < source.size()) {
        const std::size_t open = source.find("{{", pos);
        const std::size_t literal_end = open == std::string_view::npos ? source.size() : open;
        if (literal_end > pos) {
            if (parts.empty() || parts.back().expression) parts.emplace_back();
            parts.back().literal.append(source.substr(pos, literal_end - pos));
        }
        if (open == std::string_view::npos) break;
        std::size_t end = 0;
        auto expression = parser.Expression(open + 2, end);
        if (!expression) return expression.error();
        TemplatePart part;
        part.expression = std::move(*expression);
        parts.push_back(std::move(part));
        pos = end;
    }
    return parts;
}

}  // namespace switchboard::iml
