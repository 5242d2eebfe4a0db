#include "iml/regex.hpp"

#include <algorithm>
#include <string>

#include "iml/utf8.hpp"

namespace switchboard::iml {

namespace {

constexpr std::size_t kMaxPatternBytes = 4096;
constexpr std::size_t kMaxInstructions = 10000;
constexpr int kMaxGroupDepth = 64;
constexpr int kMaxRepeat = 1000;

struct Range {
    char32_t lo, hi;
};

struct CharClass {
    std::vector<Range> ranges;
    bool negated = false;
};

enum class Op : std::uint8_t {
    kChar,
    kAny,
    kAnyButNewline,
    kClass,
    kMatch,
    kJmp,
    kSplit,
    kSave,
    kLineStart,
    kLineEnd,
    kWordBoundary,
    kNotWordBoundary,
};

struct Inst {
    Op op;
    char32_t c = 0;
    int x = 0;  // jump target, preferred split branch, save slot or class index
    int y = 0;  // other split branch
};

struct Node {
    enum class Kind {
        kEmpty,
        kChar,
        kAny,
        kClass,
        kLineStart,
        kLineEnd,
        kWordB,
        kNotWordB,
        kGroup,
        kConcat,
        kAlt,
        kRepeat
    };
    Kind kind = Kind::kEmpty;
    char32_t c = 0;
    int index = -1;        // class index or capture group (-1: non-capturing)
    int min = 0, max = 0;  // repeat bounds, max -1 = unbounded
    bool greedy = true;
    std::vector<std::unique_ptr<Node>> kids;
};

bool IsLineTerminator(char32_t c) { return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029; }
bool IsWordChar(char32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void AddDigitRanges(std::vector<Range>& r) { r.push_back({'0', '9'}); }
void AddWordRanges(std::vector<Range>& r) {
    r.push_back({'0', '9'});
    r.push_back({'A', 'Z'});
    r.push_back({'_', '_'});
    r.push_back({'a', 'z'});
}
void AddSpaceRanges(std::vector<Range>& r) {
    r.push_back({0x09, 0x0D});
    r.push_back({0x20, 0x20});
    r.push_back({0xA0, 0xA0});
    r.push_back({0x1680, 0x1680});
    r.push_back({0x2000, 0x200A});
    r.push_back({0x2028, 0x2029});
    r.push_back({0x202F, 0x202F});
    r.push_back({0x205F, 0x205F});
    r.push_back({0x3000, 0x3000});
    r.push_back({0xFEFF, 0xFEFF});
}
// The complement of sorted, possibly overlapping ranges.
std::vector<Range> Complement(std::vector<Range> r) {
    std::sort(r.begin(), r.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
    std::vector<Range> out;
    char32_t next = 0;
    for (const Range& x : r) {
        if (x.lo > next) out.push_back({next, x.lo - 1});
        if (x.hi + 1 > next) next = x.hi + 1;
    }
    if (next <= 0x10FFFF) out.push_back({next, 0x10FFFF});
    return out;
}

}  // namespace

struct RegexProgram {
    std::vector<Inst> code;
    std::vector<CharClass> classes;
    std::size_t groups = 0;  // capturing groups, not counting group 0
    bool global = false, ignore_case = false, multiline = false, dot_all = false;
};

namespace {

class Parser {
  public:
    Parser(std::string_view pattern, RegexProgram& program) : pattern_(pattern), program_(program) {}

    core::Result<std::unique_ptr<Node>> Parse() {
        auto node = Alternation(0);
        if (!node) return node.error();
        if (!AtEnd()) return Fail("unmatched ')'");
        return node;
    }

  private:
    bool AtEnd() const { return pos_ >= pattern_.size(); }
    char32_t Peek() const { return AtEnd() ? 0 : DecodeUtf8(pattern_, pos_).value; }
    char32_t Next() {
        const CodePoint cp = DecodeUtf8(pattern_, pos_);
        pos_ += cp.length;
        return cp.value;
    }
    bool Consume(char32_t c) {
        if (AtEnd() || Peek() != c) return false;
        ++pos_;
        return true;
    }
    core::Error Fail(std::string what) const {
        return core::InvalidArgument("invalid regular expression: " + what + " at offset " + std::to_string(pos_));
    }

    core::Result<std::unique_ptr<Node>> Alternation(int depth) {
        auto first = Concatenation(depth);
        if (!first) return first.error();
        if (AtEnd() || Peek() != '|') return first;
        auto alt = std::make_unique<Node>();
        alt->kind = Node::Kind::kAlt;
        alt->kids.push_back(std::move(*first));
        while (Consume('|')) {
            auto next = Concatenation(depth);
            if (!next) return next.error();
            alt->kids.push_back(std::move(*next));
        }
        return alt;
    }

    core::Result<std::unique_ptr<Node>> Concatenation(int depth) {
        auto concat = std::make_unique<Node>();
        concat->kind = Node::Kind::kConcat;
        while (!AtEnd() && Peek() != '|' && Peek() != ')') {
            auto atom = Atom(depth);
            if (!atom) return atom.error();
            auto quantified = Quantifier(std::move(*atom));
            if (!quantified) return quantified.error();
            concat->kids.push_back(std::move(*quantified));
        }
        return concat;
    }

    // {n}, {n,}, {n,m}; false (and position unchanged) when the brace does not start a quantifier.
    bool Braces(int& min, int& max) {
        const std::size_t start = pos_;
        auto number = [&](int& out) {
            std::size_t digits = 0;
            long long v = 0;
            while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
                v = std::min<long long>(v * 10 + (Next() - '0'), 1'000'000);
                ++digits;
            }
            out = static_cast<int>(v);
            return digits > 0;
        };
        ++pos_;  // '{'
        if (!number(min)) {
            pos_ = start;
            return false;
        }
        max = min;
        if (Consume(',')) {
            if (!number(max)) max = -1;
        }
        if (!Consume('}')) {
            pos_ = start;
            return false;
        }
        return true;
    }

    core::Result<std::unique_ptr<Node>> Quantifier(std::unique_ptr<Node> atom) {
        if (AtEnd()) return atom;
        int min = 0, max = 0;
        const char32_t c = Peek();
        if (c == '*') {
            ++pos_;
            min = 0;
            max = -1;
        } else if (c == '+') {
            ++pos_;
            min = 1;
            max = -1;
        } else if (c == '?') {
            ++pos_;
            min = 0;
            max = 1;
        } else if (c == '{') {
            if (!Braces(min, max)) return atom;
            if (max != -1 && max < min) return Fail("numbers out of order in {} quantifier");
            if (min > kMaxRepeat || max > kMaxRepeat) return Fail("repeat count over 1000");
        } else {
            return atom;
        }
        if (atom->kind == Node::Kind::kLineStart || atom->kind == Node::Kind::kLineEnd ||
            atom->kind == Node::Kind::kWordB || atom->kind == Node::Kind::kNotWordB) {
            return Fail("nothing to repeat");
        }
        auto repeat = std::make_unique<Node>();
        repeat->kind = Node::Kind::kRepeat;
        repeat->min = min;
        repeat->max = max;
        repeat->greedy = !Consume('?');
        repeat->kids.push_back(std::move(atom));
        if (!AtEnd() && (Peek() == '*' || Peek() == '+' || Peek() == '?')) return Fail("nothing to repeat");
        return repeat;
    }

    std::unique_ptr<Node> Leaf(Node::Kind kind, char32_t c = 0, int index = -1) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->c = c;
        n->index = index;
        return n;
    }

    int AddClass(CharClass cls) {
        program_.classes.push_back(std::move(cls));
        return static_cast<int>(program_.classes.size()) - 1;
    }

    std::optional<char32_t> Hex(std::size_t digits) {
        char32_t v = 0;
        for (std::size_t i = 0; i < digits; ++i) {
            if (AtEnd()) return std::nullopt;
            const char32_t c = Peek();
            int d = -1;
            if (c >= '0' && c <= '9') d = static_cast<int>(c - '0');
            if (c >= 'a' && c <= 'f') d = static_cast<int>(c - 'a' + 10);
            if (c >= 'A' && c <= 'F') d = static_cast<int>(c - 'A' + 10);
            if (d < 0) return std::nullopt;
            ++pos_;
            v = v * 16 + static_cast<char32_t>(d);
        }
        return v;
    }

    // After a backslash: a character (returned), or a class escape (ranges added to `ranges`, returns nullopt).
    core::Result<std::optional<char32_t>> Escape(std::vector<Range>& ranges, bool in_class) {
        if (AtEnd()) return Fail("\\ at end of pattern");
        const char32_t c = Next();
        switch (c) {
            case 'd':
                AddDigitRanges(ranges);
                return std::optional<char32_t>();
            case 'w':
                AddWordRanges(ranges);
                return std::optional<char32_t>();
            case 's':
                AddSpaceRanges(ranges);
                return std::optional<char32_t>();
            case 'D':
            case 'W':
            case 'S': {
                std::vector<Range> inner;
                if (c == 'D') AddDigitRanges(inner);
                if (c == 'W') AddWordRanges(inner);
                if (c == 'S') AddSpaceRanges(inner);
                for (const Range& r : Complement(std::move(inner))) ranges.push_back(r);
                return std::optional<char32_t>();
            }
            case 'n':
                return std::optional<char32_t>(U'\n');
            case 'r':
                return std::optional<char32_t>(U'\r');
            case 't':
                return std::optional<char32_t>(U'\t');
            case 'f':
                return std::optional<char32_t>(U'\f');
            case 'v':
                return std::optional<char32_t>(U'\v');
            case '0':
                return std::optional<char32_t>(U'\0');
            case 'b':
                if (in_class) return std::optional<char32_t>(U'\b');
                return Fail("\\b here");  // handled by Atom before reaching this point
            case 'x': {
                const std::size_t save = pos_;
                if (auto v = Hex(2)) return std::optional<char32_t>(*v);
                pos_ = save;
                return std::optional<char32_t>(U'x');
            }
            case 'u': {
                const std::size_t save = pos_;
                if (Consume('{')) {
                    char32_t v = 0;
                    std::size_t digits = 0;
                    while (!AtEnd() && Peek() != '}' && digits < 6) {
                        auto d = Hex(1);
                        if (!d) break;
                        v = v * 16 + *d;
                        ++digits;
                    }
                    if (digits > 0 && Consume('}') && v <= 0x10FFFF) return std::optional<char32_t>(v);
                    pos_ = save;
                    return std::optional<char32_t>(U'u');
                }
                if (auto v = Hex(4)) return std::optional<char32_t>(*v);
                pos_ = save;
                return std::optional<char32_t>(U'u');
            }
            default:
                if (c >= '1' && c <= '9') return Fail("backreferences are not supported");
                return std::optional<char32_t>(c);
        }
    }

    core::Result<std::unique_ptr<Node>> ClassAtom() {
        CharClass cls;
        cls.negated = Consume('^');
        while (true) {
            if (AtEnd()) return Fail("missing ]");
            if (Consume(']')) break;
            std::optional<char32_t> lo;
            if (Consume('\\')) {
                auto e = Escape(cls.ranges, true);
                if (!e) return e.error();
                lo = *e;
            } else {
                lo = Next();
            }
            if (!lo) continue;  // a class escape such as \d
            if (!AtEnd() && Peek() == '-' && pos_ + 1 < pattern_.size() && pattern_[pos_ + 1] != ']') {
                ++pos_;
                std::optional<char32_t> hi;
                std::vector<Range> escape_ranges;
                if (Consume('\\')) {
                    auto e = Escape(escape_ranges, true);
                    if (!e) return e.error();
                    hi = *e;
                } else {
                    hi = Next();
                }
                if (!hi) {  // [a-\d]: the dash is literal
                    cls.ranges.push_back({*lo, *lo});
                    cls.ranges.push_back({'-', '-'});
                    for (const Range& r : escape_ranges) cls.ranges.push_back(r);
                    continue;
                }
                if (*hi < *lo) return Fail("range out of order in character class");
                cls.ranges.push_back({*lo, *hi});
            } else {
                cls.ranges.push_back({*lo, *lo});
            }
        }
        return Leaf(Node::Kind::kClass, 0, AddClass(std::move(cls)));
    }

    core::Result<std::unique_ptr<Node>> Atom(int depth) {
        const char32_t c = Next();
        switch (c) {
            case '(': {
                if (depth + 1 > kMaxGroupDepth) return Fail("groups nested too deeply");
                int group = -1;
                if (Consume('?')) {
                    if (Consume(':')) {
                        // non-capturing
                    } else if (Consume('<')) {
                        if (!AtEnd() && (Peek() == '=' || Peek() == '!')) return Fail("lookbehind is not supported");
                        while (!AtEnd() && Peek() != '>') ++pos_;
                        if (!Consume('>')) return Fail("unterminated group name");
                        group = static_cast<int>(++program_.groups);
                    } else {
                        return Fail("lookahead is not supported");
                    }
                } else {
                    group = static_cast<int>(++program_.groups);
                }
                auto inner = Alternation(depth + 1);
                if (!inner) return inner.error();
                if (!Consume(')')) return Fail("missing )");
                auto g = Leaf(Node::Kind::kGroup, 0, group);
                g->kids.push_back(std::move(*inner));
                return g;
            }
            case ')':
                return Fail("unmatched ')'");
            case '[':
                return ClassAtom();
            case '.':
                return Leaf(Node::Kind::kAny);
            case '^':
                return Leaf(Node::Kind::kLineStart);
            case '$':
                return Leaf(Node::Kind::kLineEnd);
            case '*':
            case '+':
            case '?':
                return Fail("nothing to repeat");
            case '\\': {
                if (Consume('b')) return Leaf(Node::Kind::kWordB);
                if (Consume('B')) return Leaf(Node::Kind::kNotWordB);
                CharClass cls;
                auto e = Escape(cls.ranges, false);
                if (!e) return e.error();
                if (*e) return Leaf(Node::Kind::kChar, **e);
                return Leaf(Node::Kind::kClass, 0, AddClass(std::move(cls)));
            }
            default:
                return Leaf(Node::Kind::kChar, c);
        }
    }

    std::string_view pattern_;
    RegexProgram& program_;
    std::size_t pos_ = 0;
};

class Emitter {
  public:
    explicit Emitter(RegexProgram& program) : program_(program) {}

    bool Emit(const Node& n) {
        if (program_.code.size() > kMaxInstructions) return false;
        switch (n.kind) {
            case Node::Kind::kEmpty:
                return true;
            case Node::Kind::kChar:
                Add({Op::kChar, n.c});
                return true;
            case Node::Kind::kAny:
                Add({program_.dot_all ? Op::kAny : Op::kAnyButNewline});
                return true;
            case Node::Kind::kClass:
                Add({Op::kClass, 0, n.index});
                return true;
            case Node::Kind::kLineStart:
                Add({Op::kLineStart});
                return true;
            case Node::Kind::kLineEnd:
                Add({Op::kLineEnd});
                return true;
            case Node::Kind::kWordB:
                Add({Op::kWordBoundary});
                return true;
            case Node::Kind::kNotWordB:
                Add({Op::kNotWordBoundary});
                return true;
            case Node::Kind::kGroup:
                if (n.index >= 0) Add({Op::kSave, 0, n.index * 2});
                if (!Emit(*n.kids[0])) return false;
                if (n.index >= 0) Add({Op::kSave, 0, n.index * 2 + 1});
                return true;
            case Node::Kind::kConcat:
                for (const auto& k : n.kids) {
                    if (!Emit(*k)) return false;
                }
                return true;
            case Node::Kind::kAlt: {
                std::vector<std::size_t> jumps;
                for (std::size_t i = 0; i < n.kids.size(); ++i) {
                    if (i + 1 < n.kids.size()) {
                        const std::size_t split = Add({Op::kSplit});
                        program_.code[split].x = static_cast<int>(split + 1);
                        if (!Emit(*n.kids[i])) return false;
                        jumps.push_back(Add({Op::kJmp}));
                        program_.code[split].y = static_cast<int>(program_.code.size());
                    } else if (!Emit(*n.kids[i])) {
                        return false;
                    }
                }
                for (std::size_t j : jumps) program_.code[j].x = static_cast<int>(program_.code.size());
                return true;
            }
            case Node::Kind::kRepeat:
                return EmitRepeat(n);
        }
        return false;
    }

  private:
    std::size_t Add(Inst inst) {
        program_.code.push_back(inst);
        return program_.code.size() - 1;
    }

    // A split that prefers `first` when greedy.
    void SetSplit(std::size_t at, std::size_t take, std::size_t skip, bool greedy) {
        program_.code[at].x = static_cast<int>(greedy ? take : skip);
        program_.code[at].y = static_cast<int>(greedy ? skip : take);
    }

    bool EmitRepeat(const Node& n) {
        const Node& body = *n.kids[0];
        for (int i = 0; i < n.min; ++i) {
            if (!Emit(body)) return false;
        }
        if (n.max == -1) {
            const std::size_t split = Add({Op::kSplit});
            if (!Emit(body)) return false;
            const std::size_t jump = Add({Op::kJmp});
            program_.code[jump].x = static_cast<int>(split);
            SetSplit(split, split + 1, program_.code.size(), n.greedy);
            return true;
        }
        std::vector<std::size_t> splits;
        for (int i = n.min; i < n.max; ++i) {
            splits.push_back(Add({Op::kSplit}));
            if (!Emit(body)) return false;
        }
        for (std::size_t s : splits) SetSplit(s, s + 1, program_.code.size(), n.greedy);
        return true;
    }

    RegexProgram& program_;
};

bool ClassMatches(const CharClass& cls, char32_t c, bool ignore_case) {
    auto in = [&](char32_t x) {
        for (const Range& r : cls.ranges) {
            if (x >= r.lo && x <= r.hi) return true;
        }
        return false;
    };
    bool hit = in(c);
    if (!hit && ignore_case) hit = in(ToLowerCodePoint(c)) || in(ToUpperCodePoint(c));
    return hit != cls.negated;
}

// The thread lists of the VM: program counters in priority order, each with its capture slots.
struct ThreadList {
    std::vector<int> pcs;
    std::vector<std::ptrdiff_t> slots;
    std::vector<std::uint32_t> mark;
    std::uint32_t generation = 1;

    void Reset(std::size_t program_size) {
        pcs.clear();
        slots.clear();
        if (mark.size() != program_size) mark.assign(program_size, 0);
        if (++generation == 0) {
            std::fill(mark.begin(), mark.end(), 0);
            generation = 1;
        }
    }
};

}  // namespace

core::Result<Regex> Regex::Compile(std::string_view pattern, std::string_view flags) {
    if (pattern.size() > kMaxPatternBytes) return core::InvalidArgument("regular expression is longer than 4096 bytes");
    auto program = std::make_shared<RegexProgram>();
    for (char f : flags) {
        switch (f) {
            case 'g':
                program->global = true;
                break;
            case 'i':
                program->ignore_case = true;
                break;
            case 'm':
                program->multiline = true;
                break;
            case 's':
                program->dot_all = true;
                break;
            case 'u':
            case 'y':
                break;
            default:
                return core::InvalidArgument(std::string("invalid regular expression flag '") + f + "'");
        }
    }
    Parser parser(pattern, *program);
    auto tree = parser.Parse();
    if (!tree) return tree.error();
    Emitter emitter(*program);
    program->code.push_back({Op::kSave, 0, 0});
    if (!emitter.Emit(**tree) || program->code.size() + 2 > kMaxInstructions) {
        return core::InvalidArgument("regular expression is too complex");
    }
    program->code.push_back({Op::kSave, 0, 1});
    program->code.push_back({Op::kMatch});
    Regex regex;
    regex.program_ = std::move(program);
    return regex;
}

std::optional<std::pair<std::string_view, std::string_view>> Regex::SplitLiteral(std::string_view text) {
    if (text.size() < 3 || text.front() != '/') return std::nullopt;
    const std::size_t last = text.rfind('/');
    if (last < 2) return std::nullopt;
    const std::string_view flags = text.substr(last + 1);
    for (char f : flags) {
        if (std::string_view("gimsuy").find(f) == std::string_view::npos) return std::nullopt;
    }
    return std::make_pair(text.substr(1, last - 1), flags);
}

bool Regex::global() const { return program_->global; }
std::size_t Regex::group_count() const { return program_->groups; }

core::Result<std::optional<Regex::Match>> Regex::Search(std::string_view text, std::size_t from,
                                                        std::uint64_t& steps) const {
    const RegexProgram& p = *program_;
    const std::size_t nslots = (p.groups + 1) * 2;
    const std::size_t size = text.size();
    auto out_of_steps = [] { return core::InvalidArgument("regular expression exceeded its work limit"); };
    // Setting up the thread lists costs a pass over the program: count it, so that many searches with a large
    // pattern (a global replace matching at every character) stay within the budget too.
    if (steps < p.code.size()) return out_of_steps();
    steps -= p.code.size();
    ThreadList current, next;
    current.Reset(p.code.size());
    next.Reset(p.code.size());
    std::vector<std::ptrdiff_t> scratch(nslots, -1);
    std::optional<Match> best;

    struct Pending {
        int pc;
        int restore_slot;  // >= 0: restore scratch[restore_slot] = value instead of visiting pc
        std::ptrdiff_t value;
    };
    std::vector<Pending> stack;

    // Follows jumps, splits, saves and assertions from `pc` at byte `pos`, adding consuming threads to `list`.
    auto add_thread = [&](ThreadList& list, int start_pc, std::size_t pos) -> bool {
        stack.push_back({start_pc, -1, 0});
        while (!stack.empty()) {
            const Pending item = stack.back();
            stack.pop_back();
            if (item.restore_slot >= 0) {
                scratch[static_cast<std::size_t>(item.restore_slot)] = item.value;
                continue;
            }
            if (steps == 0) return false;
            --steps;
            const auto pc = static_cast<std::size_t>(item.pc);
            if (list.mark[pc] == list.generation) continue;
            list.mark[pc] = list.generation;
            const Inst& inst = p.code[pc];
            switch (inst.op) {
                case Op::kJmp:
                    stack.push_back({inst.x, -1, 0});
                    break;
                case Op::kSplit:
                    stack.push_back({inst.y, -1, 0});
                    stack.push_back({inst.x, -1, 0});
                    break;
                case Op::kSave:
                    stack.push_back({0, inst.x, scratch[static_cast<std::size_t>(inst.x)]});
                    scratch[static_cast<std::size_t>(inst.x)] = static_cast<std::ptrdiff_t>(pos);
                    stack.push_back({item.pc + 1, -1, 0});
                    break;
                case Op::kLineStart:
                    if (pos == 0 || (p.multiline && IsLineTerminator(static_cast<unsigned char>(text[pos - 1])))) {
                        stack.push_back({item.pc + 1, -1, 0});
                    }
                    break;
                case Op::kLineEnd:
                    if (pos == size || (p.multiline && IsLineTerminator(static_cast<unsigned char>(text[pos])))) {
                        stack.push_back({item.pc + 1, -1, 0});
                    }
                    break;
                case Op::kWordBoundary:
                case Op::kNotWordBoundary: {
                    const bool before = pos > 0 && IsWordChar(static_cast<unsigned char>(text[pos - 1]));
                    const bool after = pos < size && IsWordChar(static_cast<unsigned char>(text[pos]));
                    if ((before != after) == (inst.op == Op::kWordBoundary)) stack.push_back({item.pc + 1, -1, 0});
                    break;
                }
                default:
                    list.pcs.push_back(item.pc);
                    list.slots.insert(list.slots.end(), scratch.begin(), scratch.end());
            }
        }
        return true;
    };

    for (std::size_t pos = from;;) {
        if (!best) {
            std::fill(scratch.begin(), scratch.end(), -1);
            if (!add_thread(current, 0, pos)) return out_of_steps();
        }
        if (current.pcs.empty() && (best || pos >= size)) break;
        CodePoint cp{0, 1, true};
        if (pos < size) cp = DecodeUtf8(text, pos);
        const std::size_t after = std::min(size, pos + cp.length);
        next.Reset(p.code.size());
        bool matched_here = false;
        for (std::size_t t = 0; t < current.pcs.size() && !matched_here; ++t) {
            if (steps == 0) return out_of_steps();
            --steps;
            const Inst& inst = p.code[static_cast<std::size_t>(current.pcs[t])];
            const std::ptrdiff_t* thread_slots = current.slots.data() + t * nslots;
            bool advance = false;
            switch (inst.op) {
                case Op::kMatch:
                    best = Match{std::vector<std::ptrdiff_t>(thread_slots, thread_slots + nslots)};
                    matched_here = true;  // lower-priority threads lose to this match
                    break;
                case Op::kChar:
                    advance = pos < size && (cp.value == inst.c ||
                                             (p.ignore_case && ToLowerCodePoint(cp.value) == ToLowerCodePoint(inst.c)));
                    break;
                case Op::kAny:
                    advance = pos < size;
                    break;
                case Op::kAnyButNewline:
                    advance = pos < size && !IsLineTerminator(cp.value);
                    break;
                case Op::kClass:
                    advance = pos < size &&
                              ClassMatches(p.classes[static_cast<std::size_t>(inst.x)], cp.value, p.ignore_case);
                    break;
                default:
                    break;
            }
            if (advance) {
                std::copy(thread_slots, thread_slots + nslots, scratch.begin());
                if (!add_thread(next, current.pcs[t] + 1, after)) return out_of_steps();
            }
        }
        std::swap(current, next);
        if (pos >= size) break;  // nothing can consume past the end
        pos = after;
    }
    return best;
}

}  // namespace switchboard::iml
