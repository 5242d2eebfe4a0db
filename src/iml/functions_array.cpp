// Array functions: add, remove, merge, distinct, deduplicate, first, last, slice, sort, reverse, map,
// flatten, shuffle.
#include <algorithm>
#include <limits>
#include <unordered_set>

#include "iml/function_impls.hpp"
#include "iml/function_util.hpp"
#include "iml/utf8.hpp"

namespace switchboard::iml::fn {

namespace {

constexpr int kMaxFlattenDepth = 64;

Operand Array(json::array a) { return Operand::Own(json::value(std::move(a))); }

// Refuses work whose result would be about as large as all the arguments together and over the budget.
bool ArgumentsFit(const Call& c) {
    std::size_t total = 0;
    for (const Operand& arg : c.args) {
        total += ApproxSize(arg.get(), std::numeric_limits<std::size_t>::max() / 4);
        if (!c.eval.Fits(total)) return false;
    }
    return true;
}

// A stable identity for de-duplication: the value's JSON text (1 and 1.0 are the same number).
std::string Identity(const json::value& v) {
    std::string out;
    AppendJson(out, v);
    return out;
}

void FlattenInto(json::array& out, const json::array& in, int depth) {
    for (const auto& e : in) {
        if (depth > 0 && e.is_array()) {
            FlattenInto(out, e.get_array(), depth - 1);
        } else {
            out.push_back(e);
        }
    }
}

core::Result<Operand> DistinctBy(Call& c, const std::string* key) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return std::move(c.args[0]);
    std::unordered_set<std::string> seen;
    json::array out;
    for (const auto& e : *array) {
        const json::value* k = key != nullptr ? Lookup(e, *key) : &e;
        if (seen.insert(Identity(k != nullptr ? *k : kNullValue)).second) out.push_back(e);
    }
    return Array(std::move(out));
}

}  // namespace

core::Result<Operand> Add(Call& c) {
    if (!ArgumentsFit(c)) return c.eval.TooLarge();
    json::array out;
    const json::value& first = c.args[0].get();
    if (const auto* array = first.if_array()) {
        out = *array;
    } else if (!first.is_null()) {
        out.push_back(first);
    }
    for (std::size_t i = 1; i < c.args.size(); ++i) out.push_back(c.args[i].get());
    return Array(std::move(out));
}

core::Result<Operand> Remove(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return std::move(c.args[0]);
    const std::uint64_t cost = array->size() * (c.args.size() - 1);  // comparisons
    if (cost > c.eval.steps()) return core::InvalidArgument("remove exceeded its work limit");
    c.eval.steps() -= cost;
    json::array out;
    for (const auto& e : *array) {
        bool removed = false;
        for (std::size_t i = 1; i < c.args.size() && !removed; ++i) removed = LooseEquals(e, c.args[i].get());
        if (!removed) out.push_back(e);
    }
    return Array(std::move(out));
}

core::Result<Operand> Merge(Call& c) {
    if (!ArgumentsFit(c)) return c.eval.TooLarge();
    bool all_objects = false;
    for (const Operand& arg : c.args) {
        if (arg.get().is_null()) continue;
        if (!arg.get().is_object()) {
            all_objects = false;
            break;
        }
        all_objects = true;
    }
    if (all_objects) {
        json::object out;
        for (const Operand& arg : c.args) {
            if (const auto* o = arg.get().if_object()) {
                for (const auto& kv : *o) out[kv.key()] = kv.value();
            }
        }
        return Operand::Own(json::value(std::move(out)));
    }
    json::array out;
    for (const Operand& arg : c.args) {
        const json::value& v = arg.get();
        if (const auto* a = v.if_array()) {
            out.insert(out.end(), a->begin(), a->end());
        } else if (!v.is_null()) {
            out.push_back(v);
        }
    }
    return Array(std::move(out));
}

core::Result<Operand> Distinct(Call& c) {
    if (Missing(c, 1)) return DistinctBy(c, nullptr);
    const std::string key(TextArg(c.args[1]).view());
    return DistinctBy(c, &key);
}

core::Result<Operand> Deduplicate(Call& c) { return DistinctBy(c, nullptr); }

core::Result<Operand> First(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr || array->empty()) return Null();
    return c.args[0].Part(array->front());
}

core::Result<Operand> Last(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr || array->empty()) return Null();
    return c.args[0].Part(array->back());
}

core::Result<Operand> Slice(Call& c) {
    const json::value& v = c.args[0].get();
    if (v.is_null()) return Null();
    const auto* array = v.if_array();
    const TextArg text(c.args[0]);
    const auto length = static_cast<std::int64_t>(array != nullptr ? array->size() : CodePointCount(text.view()));
    auto relative = [&](std::int64_t i) { return i < 0 ? std::max<std::int64_t>(length + i, 0) : std::min(i, length); };
    auto start = IntegerArg(c.args[1]);
    if (!start) return start.error();
    std::int64_t end = length;
    if (!Missing(c, 2)) {
        auto e = IntegerArg(c.args[2]);
        if (!e) return e.error();
        end = *e;
    }
    const std::int64_t from = relative(*start);
    const std::int64_t to = std::max(relative(end), from);
    if (array != nullptr) {
        json::array out(array->begin() + from, array->begin() + to);
        return Array(std::move(out));
    }
    const std::size_t b = ByteOffset(text.view(), static_cast<std::size_t>(from));
    const std::size_t e = b + ByteOffset(text.view().substr(b), static_cast<std::size_t>(to - from));
    return Text(text.view().substr(b, e - b));
}

core::Result<Operand> Sort(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return std::move(c.args[0]);
    std::string order = "asc";
    if (!Missing(c, 1)) order = ToLower(TextArg(c.args[1]).view());
    bool descending = false;
    bool case_insensitive = false;
    if (order == "asc" || order == "") {
    } else if (order == "desc") {
        descending = true;
    } else if (order == "asc ci") {
        case_insensitive = true;
    } else if (order == "desc ci") {
        descending = true;
        case_insensitive = true;
    } else {
        return core::InvalidArgument("order must be asc, desc, asc ci or desc ci, got " + Quote(c.args[1].get()));
    }
    std::string key;
    if (!Missing(c, 2)) key = std::string(TextArg(c.args[2]).view());
    const std::uint64_t n = array->size();
    const std::uint64_t cost = n * (64 - static_cast<std::uint64_t>(__builtin_clzll(n | 1)));  // ~ n log n
    if (cost > c.eval.steps()) return core::InvalidArgument("sort exceeded its work limit");
    c.eval.steps() -= cost;
    std::vector<const json::value*> keys(array->size());
    std::vector<std::size_t> order_index(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
        const json::value* k = key.empty() ? &(*array)[i] : Lookup((*array)[i], key);
        keys[i] = k != nullptr ? k : &kNullValue;
        order_index[i] = i;
    }
    std::stable_sort(order_index.begin(), order_index.end(), [&](std::size_t a, std::size_t b) {
        const auto ordering = SortOrder(*keys[a], *keys[b], case_insensitive);
        return descending ? ordering > 0 : ordering < 0;
    });
    json::array out;
    out.reserve(array->size());
    for (std::size_t i : order_index) out.push_back((*array)[i]);
    return Array(std::move(out));
}

core::Result<Operand> Reverse(Call& c) {
    const json::value& v = c.args[0].get();
    if (const auto* array = v.if_array()) {
        json::array out(array->rbegin(), array->rend());
        return Array(std::move(out));
    }
    if (!v.is_string()) return std::move(c.args[0]);
    const std::string_view s = v.get_string();
    std::string out;
    out.reserve(s.size());
    for (std::size_t end = s.size(); end > 0;) {
        std::size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && end - start < 4) --start;
        if (DecodeUtf8(s, start).length != end - start) start = end - 1;  // not one whole character
        out.append(s.substr(start, end - start));
        end = start;
    }
    return Text(out);
}

core::Result<Operand> Map(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return Array({});
    const std::string key(TextArg(c.args[1]).view());
    std::string filter_key;
    std::unordered_set<std::string> allowed;
    const bool filtered = !Missing(c, 2);
    if (filtered) {
        filter_key = std::string(TextArg(c.args[2]).view());
        if (!Missing(c, 3)) {
            const json::value& values = c.args[3].get();
            if (const auto* list = values.if_array()) {
                for (const auto& e : *list) allowed.insert(ToText(e));
            } else {
                const std::string text = ToText(values);
                std::size_t pos = 0;
                while (pos <= text.size()) {
                    std::size_t comma = text.find(',', pos);
                    if (comma == std::string::npos) comma = text.size();
                    std::string item = text.substr(pos, comma - pos);
                    const std::size_t b = item.find_first_not_of(' ');
                    const std::size_t e = item.find_last_not_of(' ');
                    allowed.insert(b == std::string::npos ? "" : item.substr(b, e - b + 1));
                    pos = comma + 1;
                }
            }
        }
    }
    json::array out;
    for (const auto& e : *array) {
        if (filtered) {
            const json::value* f = Lookup(e, filter_key);
            if (f == nullptr || allowed.count(ToText(*f)) == 0) continue;
        }
        if (const json::value* v = Lookup(e, key)) out.push_back(*v);
    }
    return Array(std::move(out));
}

core::Result<Operand> Flatten(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return std::move(c.args[0]);
    std::int64_t depth = 1;
    if (!Missing(c, 1)) {
        auto d = IntegerArg(c.args[1]);
        if (!d) return d.error();
        depth = std::clamp<std::int64_t>(*d, 0, kMaxFlattenDepth);
    }
    json::array out;
    FlattenInto(out, *array, static_cast<int>(depth));
    return Array(std::move(out));
}

core::Result<Operand> Shuffle(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return std::move(c.args[0]);
    core::Random* random = c.eval.context().random;
    if (random == nullptr) return core::InvalidArgument("no random source is available here");
    json::array out = *array;
    for (std::size_t i = out.size(); i > 1; --i) {
        unsigned char b[8];
        random->Fill(b, sizeof b);
        std::uint64_t bits = 0;
        for (unsigned char x : b) bits = (bits << 8) | x;
        std::swap(out[i - 1], out[static_cast<std::size_t>(bits % i)]);
    }
    return Array(std::move(out));
}

}  // namespace switchboard::iml::fn
