// General functions: get, pick, omit, keys, equal, toString, toNumber, length, uuid, random, emptyarray,
// emptystring, toArray, toCollection.
#include <charconv>
#include <unordered_set>

#include "iml/function_impls.hpp"
#include "iml/function_util.hpp"
#include "iml/utf8.hpp"

namespace switchboard::iml::fn {

namespace {

const json::value* Step(const json::value& v, std::string_view key) {
    if (const auto* o = v.if_object()) return o->if_contains(key);
    if (const auto* a = v.if_array()) {
        std::int64_t index = 0;
        auto r = std::from_chars(key.data(), key.data() + key.size(), index);
        if (r.ec != std::errc() || r.ptr != key.data() + key.size()) return nullptr;
        if (index >= 1 && static_cast<std::uint64_t>(index) <= a->size())
            return &(*a)[static_cast<std::size_t>(index - 1)];
    }
    return nullptr;
}

// Keys named by pick/omit arguments: texts, or arrays of texts.
std::unordered_set<std::string> KeySet(const Call& c) {
    std::unordered_set<std::string> keys;
    for (std::size_t i = 1; i < c.args.size(); ++i) {
        const json::value& v = c.args[i].get();
        if (const auto* a = v.if_array()) {
            for (const auto& e : *a) keys.insert(ToText(e));
        } else if (!v.is_null()) {
            keys.insert(ToText(v));
        }
    }
    return keys;
}

}  // namespace

const json::value* Lookup(const json::value& v, std::string_view path) {
    const json::value* current = &v;
    std::size_t pos = 0;
    while (pos < path.size() && current != nullptr) {
        const std::size_t dot = path.find('.', pos);
        std::string_view segment = path.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
        pos = dot == std::string_view::npos ? path.size() : dot + 1;
        // "items[2][1]": the name, then bracketed 1-based indexes.
        const std::size_t bracket = segment.find('[');
        const std::string_view name = segment.substr(0, bracket);
        if (!name.empty()) current = Step(*current, name);
        std::size_t at = bracket;
        while (current != nullptr && at != std::string_view::npos && at < segment.size()) {
            const std::size_t close = segment.find(']', at);
            if (close == std::string_view::npos) return nullptr;
            current = Step(*current, segment.substr(at + 1, close - at - 1));
            at = close + 1 < segment.size() && segment[close + 1] == '[' ? close + 1 : std::string_view::npos;
            if (at == std::string_view::npos && close + 1 < segment.size()) return nullptr;
        }
    }
    return current;
}

core::Result<Operand> Get(Call& c) {
    const json::value& target = c.args[0].get();
    const json::value& path = c.args[1].get();
    const json::value* found = nullptr;
    if (IsNumber(path)) {
        const auto n = ToNumber(path);
        // Only integral indexes a path could name (as eval.cpp bounds them): a huge one names nothing.
        if (std::trunc(*n) == *n && std::fabs(*n) < 1e15) {
            found = Step(target, std::to_string(static_cast<std::int64_t>(*n)));
        }
    } else if (path.is_string()) {
        found = Lookup(target, path.get_string());
    }
    if (found == nullptr) return Null();
    return c.args[0].Part(*found);
}

core::Result<Operand> Pick(Call& c) {
    const auto* object = c.args[0].get().if_object();
    if (object == nullptr) return Null();
    const auto keys = KeySet(c);
    json::object out;
    for (const auto& kv : *object) {
        if (keys.count(std::string(kv.key())) != 0) out.emplace(kv.key(), kv.value());
    }
    return Operand::Own(json::value(std::move(out)));
}

core::Result<Operand> Omit(Call& c) {
    const auto* object = c.args[0].get().if_object();
    if (object == nullptr) return Null();
    const auto keys = KeySet(c);
    json::object out;
    for (const auto& kv : *object) {
        if (keys.count(std::string(kv.key())) == 0) out.emplace(kv.key(), kv.value());
    }
    return Operand::Own(json::value(std::move(out)));
}

core::Result<Operand> Keys(Call& c) {
    json::array out;
    if (const auto* object = c.args[0].get().if_object()) {
        out.reserve(object->size());
        for (const auto& kv : *object) out.emplace_back(json::string(kv.key()));
    }
    return Operand::Own(json::value(std::move(out)));
}

core::Result<Operand> Equal(Call& c) { return Bool(LooseEquals(c.args[0].get(), c.args[1].get())); }

core::Result<Operand> ToStringFn(Call& c) {
    if (c.args[0].get().is_string()) return std::move(c.args[0]);
    return Text(ToText(c.args[0].get()));
}

core::Result<Operand> ToNumberFn(Call& c) {
    const json::value& v = c.args[0].get();
    if (IsNumber(v)) return std::move(c.args[0]);
    const auto n = ToNumber(v);
    if (!n) return core::InvalidArgument("cannot convert " + Quote(v) + " to a number");
    return Number(*n);
}

core::Result<Operand> Length(Call& c) {
    const json::value& v = c.args[0].get();
    switch (v.kind()) {
        case json::kind::null:
            return Integer(0);
        case json::kind::string:
            return Integer(static_cast<std::int64_t>(CodePointCount(v.get_string())));
        case json::kind::array:
            return Integer(static_cast<std::int64_t>(v.get_array().size()));
        case json::kind::object:
            return Integer(static_cast<std::int64_t>(v.get_object().size()));
        default:
            return Integer(static_cast<std::int64_t>(CodePointCount(ToText(v))));
    }
}

core::Result<Operand> Uuid(Call& c) {
    core::Random* random = c.eval.context().random;
    if (random == nullptr) return core::InvalidArgument("no random source is available here");
    unsigned char b[16];
    random->Fill(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kHex[b[i] >> 4]);
        out.push_back(kHex[b[i] & 0x0F]);
    }
    return Text(out);
}

core::Result<Operand> RandomFn(Call& c) {
    core::Random* random = c.eval.context().random;
    if (random == nullptr) return core::InvalidArgument("no random source is available here");
    unsigned char b[8];
    random->Fill(b, sizeof b);
    std::uint64_t bits = 0;
    for (unsigned char x : b) bits = (bits << 8) | x;
    return Operand::Own(json::value(static_cast<double>(bits >> 11) / 9007199254740992.0));  // [0, 1)
}

core::Result<Operand> EmptyArray(Call&) { return Operand::Own(json::value(json::array())); }
core::Result<Operand> EmptyString(Call&) { return Text(""); }

core::Result<Operand> ToArray(Call& c) {
    const json::value& v = c.args[0].get();
    if (v.is_array()) return std::move(c.args[0]);
    json::array out;
    if (const auto* object = v.if_object()) {
        out.reserve(object->size());
        for (const auto& kv : *object) {
            out.emplace_back(json::object{{"key", json::string(kv.key())}, {"value", kv.value()}});
        }
    }
    return Operand::Own(json::value(std::move(out)));
}

core::Result<Operand> ToCollection(Call& c) {
    const auto* array = c.args[0].get().if_array();
    if (array == nullptr) return Null();
    const std::string key_field(TextArg(c.args[1]).view());
    const std::string value_field(TextArg(c.args[2]).view());
    json::object out;
    for (const auto& e : *array) {
        const json::value* key = Lookup(e, key_field);
        if (key == nullptr || key->is_null()) continue;
        const json::value* value = Lookup(e, value_field);
        out[ToText(*key)] = value != nullptr ? *value : json::value();
    }
    return Operand::Own(json::value(std::move(out)));
}

}  // namespace switchboard::iml::fn
