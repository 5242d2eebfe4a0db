// Text functions: lower, upper, capitalize, startcase, trim, replace, split, join, contains, startsWith,
// endsWith, substring, indexOf, escapeHTML, stripHTML, encodeURL, decodeURL, base64, base64url, toBinary,
// md5, sha1, sha256, sha512.
#include <memory>
#include <vector>

#include "core/encoding.hpp"
#include "iml/function_impls.hpp"
#include "iml/function_util.hpp"
#include "iml/hash.hpp"
#include "iml/regex.hpp"
#include "iml/utf8.hpp"

namespace switchboard::iml::fn {

namespace {

// Finds a text in O(haystack + needle): std::string_view::find is fine for short needles but quadratic in the
// worst case for long ones, and texts built during a render can be megabytes long.
class TextSearcher {
  public:
    explicit TextSearcher(std::string_view needle) : needle_(needle) {
        if (needle.size() <= kShortNeedle) return;
        failure_.assign(needle.size(), 0);
        for (std::size_t i = 1, k = 0; i < needle.size(); ++i) {
            while (k > 0 && needle[i] != needle[k]) k = failure_[k - 1];
            if (needle[i] == needle[k]) ++k;
            failure_[i] = k;
        }
    }

    std::size_t Find(std::string_view haystack, std::size_t from) const {
        if (failure_.empty()) return haystack.find(needle_, from);
        for (std::size_t i = from, k = 0; i < haystack.size(); ++i) {
            while (k > 0 && haystack[i] != needle_[k]) k = failure_[k - 1];
            if (haystack[i] == needle_[k]) ++k;
            if (k == needle_.size()) return i + 1 - k;
        }
        return std::string_view::npos;
    }

  private:
    static constexpr std::size_t kShortNeedle = 32;
    std::string_view needle_;
    std::vector<std::size_t> failure_;
};

// The regular expression an argument stands for: compiled at parse time when constant, else now.
core::Result<std::shared_ptr<const Regex>> RegexArg(const Call& c, std::size_t index) {
    if (c.node.regex) return c.node.regex;
    const json::value& v = c.args[index].get();
    if (!v.is_string()) return std::shared_ptr<const Regex>();
    const auto parts = Regex::SplitLiteral(v.get_string());
    if (!parts) return std::shared_ptr<const Regex>();
    auto compiled = Regex::Compile(parts->first, parts->second);
    if (!compiled) return compiled.error();
    return std::make_shared<const Regex>(std::move(*compiled));
}

std::size_t NextCodePoint(std::string_view text, std::size_t pos) {
    if (pos >= text.size()) return pos + 1;
    return pos + DecodeUtf8(text, pos).length;
}

// $$, $&, $`, $', $1..$99 in a regex replacement (JavaScript's GetSubstitution).
void Substitute(std::string& out, std::string_view replacement, std::string_view text, const Regex::Match& m,
                std::size_t groups) {
    const auto start = static_cast<std::size_t>(m.slots[0]);
    const auto end = static_cast<std::size_t>(m.slots[1]);
    for (std::size_t i = 0; i < replacement.size(); ++i) {
        const char ch = replacement[i];
        if (ch != '$' || i + 1 >= replacement.size()) {
            out.push_back(ch);
            continue;
        }
        const char next = replacement[i + 1];
        if (next == '$') {
            out.push_back('$');
            ++i;
        } else if (next == '&') {
            out.append(text.substr(start, end - start));
            ++i;
        } else if (next == '`') {
            out.append(text.substr(0, start));
            ++i;
        } else if (next == '\'') {
            out.append(text.substr(end));
            ++i;
        } else if (next >= '0' && next <= '9') {
            std::size_t group = static_cast<std::size_t>(next - '0');
            std::size_t used = 1;
            if (i + 2 < replacement.size() && replacement[i + 2] >= '0' && replacement[i + 2] <= '9') {
                const std::size_t two = group * 10 + static_cast<std::size_t>(replacement[i + 2] - '0');
                if (two >= 1 && two <= groups) {
                    group = two;
                    used = 2;
                }
            }
            if (group < 1 || group > groups) {
                out.push_back('$');
                continue;
            }
            const std::ptrdiff_t gs = m.slots[group * 2];
            const std::ptrdiff_t ge = m.slots[group * 2 + 1];
            if (gs >= 0 && ge >= gs) {
                out.append(text.substr(static_cast<std::size_t>(gs), static_cast<std::size_t>(ge - gs)));
            }
            i += used;
        } else {
            out.push_back('$');
        }
    }
}

core::Result<std::string> DecodeBase64Lenient(std::string_view text) {
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    std::size_t symbols = 0;
    for (char ch : text) {
        int v = -1;
        if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
        if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
        if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
        if (ch == '+' || ch == '-') v = 62;
        if (ch == '/' || ch == '_') v = 63;
        if (ch == '=') break;
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
        if (v < 0) return core::InvalidArgument("invalid base64 text");
        ++symbols;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xFF));
        }
    }
    if (symbols % 4 == 1) return core::InvalidArgument("invalid base64 text");
    return out;
}

int HexValue(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

core::Result<std::string> DecodeHex(std::string_view text) {
    if (text.size() % 2 != 0) return core::InvalidArgument("invalid hex text");
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int hi = HexValue(text[i]);
        const int lo = HexValue(text[i + 1]);
        if (hi < 0 || lo < 0) return core::InvalidArgument("invalid hex text");
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

// Text to bytes: "text"/"utf8"/"binary" (as is), "base64", "hex".
core::Result<std::string> DecodeBytes(std::string_view text, std::string_view encoding) {
    if (encoding.empty() || encoding == "utf8" || encoding == "utf-8" || encoding == "text" || encoding == "binary" ||
        encoding == "latin1" || encoding == "ascii") {
        return std::string(text);
    }
    if (encoding == "base64" || encoding == "base64url") return DecodeBase64Lenient(text);
    if (encoding == "hex") return DecodeHex(text);
    return core::InvalidArgument("unknown encoding '" + std::string(encoding) + "'");
}

core::Result<Operand> Hash(Call& c, HashAlgorithm algorithm) {
    const TextArg data(c.args[0]);
    auto encoding = TextOr(c, 1, "hex");
    if (!encoding) return encoding.error();
    std::string digest;
    if (Missing(c, 2)) {
        digest = Digest(algorithm, data.view());
    } else {
        auto key_encoding = TextOr(c, 3, "text");
        if (!key_encoding) return key_encoding.error();
        auto key = DecodeBytes(TextArg(c.args[2]).view(), *key_encoding);
        if (!key) return key.error();
        digest = Hmac(algorithm, *key, data.view());
    }
    if (*encoding == "hex") return Text(core::HexEncode(digest));
    if (*encoding == "base64") return Text(core::Base64Encode(digest));
    if (*encoding == "base64url") return Text(core::Base64UrlEncode(digest));
    if (*encoding == "binary" || *encoding == "latin1") return Text(digest);
    return core::InvalidArgument("unknown encoding '" + *encoding + "'");
}

}  // namespace

core::Result<Operand> Lower(Call& c) { return Text(ToLower(TextArg(c.args[0]).view())); }
core::Result<Operand> Upper(Call& c) { return Text(ToUpper(TextArg(c.args[0]).view())); }

core::Result<Operand> Capitalize(Call& c) {
    const TextArg text(c.args[0]);
    const std::string_view s = text.view();
    if (s.empty()) return Text("");
    const CodePoint first = DecodeUtf8(s, 0);
    std::string out;
    out.reserve(s.size());
    if (first.valid) {
        AppendUtf8(out, ToUpperCodePoint(first.value));
    } else {
        out.push_back(s[0]);
    }
    out.append(s.substr(first.length));
    return Text(out);
}

core::Result<Operand> StartCase(Call& c) {
    const TextArg text(c.args[0]);
    const std::string_view s = text.view();
    std::string out;
    out.reserve(s.size());
    bool word_start = true;
    for (std::size_t i = 0; i < s.size();) {
        const CodePoint cp = DecodeUtf8(s, i);
        if (!cp.valid) {
            out.push_back(s[i]);
        } else if (IsSpaceCodePoint(cp.value)) {
            AppendUtf8(out, cp.value);
            word_start = true;
        } else {
            AppendUtf8(out, word_start ? ToUpperCodePoint(cp.value) : ToLowerCodePoint(cp.value));
            word_start = false;
        }
        i += cp.length;
    }
    return Text(out);
}

core::Result<Operand> Trim(Call& c) {
    const TextArg text(c.args[0]);
    const std::string_view s = text.view();
    std::size_t begin = 0;
    while (begin < s.size()) {
        const CodePoint cp = DecodeUtf8(s, begin);
        if (!cp.valid || !IsSpaceCodePoint(cp.value)) break;
        begin += cp.length;
    }
    std::size_t end = begin;
    for (std::size_t i = begin; i < s.size();) {
        const CodePoint cp = DecodeUtf8(s, i);
        i += cp.length;
        if (!cp.valid || !IsSpaceCodePoint(cp.value)) end = i;
    }
    return Text(s.substr(begin, end - begin));
}

core::Result<Operand> Replace(Call& c) {
    const TextArg text_arg(c.args[0]);
    const std::string_view text = text_arg.view();
    const TextArg replacement_arg(c.args[2]);
    const std::string_view replacement = replacement_arg.view();
    auto regex = RegexArg(c, 1);
    if (!regex) return regex.error();
    std::string out;
    if (!*regex) {
        if (c.args[1].get().is_null()) return Text(text);
        const TextArg search_arg(c.args[1]);
        const std::string_view search = search_arg.view();
        if (search.empty()) return Text(text);
        const TextSearcher searcher(search);
        std::size_t last = 0;
        for (std::size_t at = searcher.Find(text, 0); at != std::string_view::npos; at = searcher.Find(text, last)) {
            out.append(text.substr(last, at - last));
            out.append(replacement);
            last = at + search.size();
            if (!c.eval.Fits(out.size())) return c.eval.TooLarge();
        }
        out.append(text.substr(last));
        return Text(out);
    }
    const Regex& re = **regex;
    std::size_t last = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto found = re.Search(text, pos, c.eval.steps());
        if (!found) return found.error();
        if (!*found) break;
        const Regex::Match& m = **found;
        const auto start = static_cast<std::size_t>(m.slots[0]);
        const auto end = static_cast<std::size_t>(m.slots[1]);
        out.append(text.substr(last, start - last));
        Substitute(out, replacement, text, m, re.group_count());
        if (!c.eval.Fits(out.size())) return c.eval.TooLarge();
        last = end;
        if (!re.global()) break;
        pos = end == start ? NextCodePoint(text, end) : end;
    }
    if (last < text.size()) out.append(text.substr(last));
    return Text(out);
}

core::Result<Operand> Split(Call& c) {
    json::array out;
    if (c.args[0].get().is_null()) return Operand::Own(json::value(std::move(out)));
    const TextArg text_arg(c.args[0]);
    const std::string_view text = text_arg.view();
    if (text.empty()) return Operand::Own(json::value(std::move(out)));
    std::size_t bytes = 0;
    auto push = [&](std::string_view piece) {
        bytes += piece.size() + sizeof(json::value);
        out.emplace_back(json::string(piece));
        return c.eval.Fits(bytes);
    };
    auto regex = RegexArg(c, 1);
    if (!regex) return regex.error();
    if (*regex) {
        const Regex& re = **regex;
        std::size_t p = 0;
        std::size_t q = 0;
        while (q < text.size()) {
            auto found = re.Search(text, q, c.eval.steps());
            if (!found) return found.error();
            if (!*found) break;
            const Regex::Match& m = **found;
            const auto start = static_cast<std::size_t>(m.slots[0]);
            const auto end = static_cast<std::size_t>(m.slots[1]);
            if (start >= text.size()) break;
            if (end == p || end == start) {
                // An empty match: split between characters but never before the first or twice in a row.
                if (end == start && start > p) {
                    if (!push(text.substr(p, start - p))) return c.eval.TooLarge();
                    p = start;
                }
                q = NextCodePoint(text, std::max(start, q));
                continue;
            }
            if (!push(text.substr(p, start - p))) return c.eval.TooLarge();
            for (std::size_t g = 1; g <= re.group_count(); ++g) {
                const std::ptrdiff_t gs = m.slots[g * 2];
                const std::ptrdiff_t ge = m.slots[g * 2 + 1];
                if (gs >= 0) {
                    if (!push(text.substr(static_cast<std::size_t>(gs), static_cast<std::size_t>(ge - gs)))) {
                        return c.eval.TooLarge();
                    }
                } else {
                    out.emplace_back(nullptr);
                }
            }
            p = end;
            q = end;
        }
        if (!push(text.substr(p))) return c.eval.TooLarge();
        return Operand::Own(json::value(std::move(out)));
    }
    const TextArg separator_arg(c.args[1]);
    const std::string_view separator = separator_arg.view();
    if (separator.empty()) {
        for (std::size_t i = 0; i < text.size();) {
            const std::size_t next = NextCodePoint(text, i);
            if (!push(text.substr(i, next - i))) return c.eval.TooLarge();
            i = next;
        }
        return Operand::Own(json::value(std::move(out)));
    }
    const TextSearcher searcher(separator);
    std::size_t last = 0;
    for (std::size_t at = searcher.Find(text, 0); at != std::string_view::npos; at = searcher.Find(text, last)) {
        if (!push(text.substr(last, at - last))) return c.eval.TooLarge();
        last = at + separator.size();
    }
    if (!push(text.substr(last))) return c.eval.TooLarge();
    return Operand::Own(json::value(std::move(out)));
}

core::Result<Operand> Join(Call& c) {
    const json::value& v = c.args[0].get();
    const auto* array = v.if_array();
    if (array == nullptr) return Text(ToText(v));
    auto separator = TextOr(c, 1, ",");
    if (!separator) return separator.error();
    std::string out;
    for (std::size_t i = 0; i < array->size(); ++i) {
        if (i > 0) out += *separator;
        AppendText(out, (*array)[i]);
        if (!c.eval.Fits(out.size())) return c.eval.TooLarge();
    }
    return Text(out);
}

core::Result<Operand> Contains(Call& c) {
    const json::value& haystack = c.args[0].get();
    const json::value& needle = c.args[1].get();
    if (const auto* array = haystack.if_array()) {
        for (const auto& e : *array) {
            if (LooseEquals(e, needle)) return Bool(true);
        }
        return Bool(false);
    }
    if (haystack.is_null() || haystack.is_object() || needle.is_null()) return Bool(false);
    const TextArg needle_text(c.args[1]);
    return Bool(TextSearcher(needle_text.view()).Find(TextArg(c.args[0]).view(), 0) != std::string_view::npos);
}

core::Result<Operand> StartsWith(Call& c) {
    if (c.args[1].get().is_null()) return Bool(false);
    return Bool(TextArg(c.args[0]).view().starts_with(TextArg(c.args[1]).view()));
}

core::Result<Operand> EndsWith(Call& c) {
    if (c.args[1].get().is_null()) return Bool(false);
    return Bool(TextArg(c.args[0]).view().ends_with(TextArg(c.args[1]).view()));
}

core::Result<Operand> Substring(Call& c) {
    const TextArg text_arg(c.args[0]);
    const std::string_view text = text_arg.view();
    const auto length = static_cast<std::int64_t>(CodePointCount(text));
    auto start = IntegerArg(c.args[1]);
    if (!start) return start.error();
    std::int64_t end = length;
    if (!Missing(c, 2)) {
        auto e = IntegerArg(c.args[2]);
        if (!e) return e.error();
        end = *e;
    }
    std::int64_t s = std::clamp<std::int64_t>(*start, 0, length);
    end = std::clamp<std::int64_t>(end, 0, length);
    if (s > end) std::swap(s, end);
    const std::size_t from = ByteOffset(text, static_cast<std::size_t>(s));
    const std::size_t to = from + ByteOffset(text.substr(from), static_cast<std::size_t>(end - s));
    return Text(text.substr(from, to - from));
}

core::Result<Operand> IndexOf(Call& c) {
    const TextArg text_arg(c.args[0]);
    const std::string_view text = text_arg.view();
    const TextArg value_arg(c.args[1]);
    std::int64_t start = 0;
    if (!Missing(c, 2)) {
        auto s = IntegerArg(c.args[2]);
        if (!s) return s.error();
        start = std::max<std::int64_t>(*s, 0);
    }
    const std::size_t from = ByteOffset(text, static_cast<std::size_t>(start));
    if (value_arg.view().empty()) return Integer(static_cast<std::int64_t>(CodePointIndex(text, from)));
    const std::size_t at = TextSearcher(value_arg.view()).Find(text, from);
    if (at == std::string_view::npos) return Integer(-1);
    return Integer(static_cast<std::int64_t>(CodePointIndex(text, at)));
}

core::Result<Operand> EscapeHtml(Call& c) {
    const TextArg text(c.args[0]);
    std::string out;
    out.reserve(text.view().size());
    for (char ch : text.view()) {
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(ch);
        }
    }
    return Text(out);
}

core::Result<Operand> StripHtml(Call& c) {
    const TextArg text_arg(c.args[0]);
    const std::string_view s = text_arg.view();
    std::string out;
    out.reserve(s.size());
    bool unclosed = false;
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] == '<' && s.substr(i, 4) == "<!--") {
            const std::size_t end = s.find("-->", i + 4);
            i = end == std::string_view::npos ? s.size() : end + 3;
            continue;
        }
        const bool tag_start = s[i] == '<' && i + 1 < s.size() &&
                               ((s[i + 1] >= 'a' && s[i + 1] <= 'z') || (s[i + 1] >= 'A' && s[i + 1] <= 'Z') ||
                                s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?');
        if (tag_start && !unclosed) {
            const std::size_t end = s.find('>', i + 1);
            if (end != std::string_view::npos) {
                i = end + 1;
                continue;
            }
            unclosed = true;  // no '>' follows: no later '<' starts a tag either (keeps this linear)
        }
        out.push_back(s[i]);
        ++i;
    }
    return Text(out);
}

core::Result<Operand> EncodeUrl(Call& c) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    const TextArg text(c.args[0]);
    std::string out;
    out.reserve(text.view().size());
    for (char ch : text.view()) {
        const auto u = static_cast<unsigned char>(ch);
        const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                                std::string_view("-_.!~*'()").find(ch) != std::string_view::npos;
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0x0F]);
        }
    }
    return Text(out);
}

core::Result<Operand> DecodeUrl(Call& c) {
    const TextArg text(c.args[0]);
    const std::string_view s = text.view();
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size() || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
            return core::InvalidArgument("malformed %-encoding in " + Quote(c.args[0].get()));
        }
        out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
        i += 2;
    }
    return Text(out);
}

core::Result<Operand> Base64(Call& c) { return Text(core::Base64Encode(TextArg(c.args[0]).view())); }
core::Result<Operand> Base64Url(Call& c) { return Text(core::Base64UrlEncode(TextArg(c.args[0]).view())); }

core::Result<Operand> ToBinary(Call& c) {
    auto encoding = TextOr(c, 1, "utf8");
    if (!encoding) return encoding.error();
    auto bytes = DecodeBytes(TextArg(c.args[0]).view(), *encoding);
    if (!bytes) return bytes.error();
    return Text(*bytes);
}

core::Result<Operand> Md5(Call& c) {
    return Text(core::HexEncode(Digest(HashAlgorithm::kMd5, TextArg(c.args[0]).view())));
}
core::Result<Operand> Sha1(Call& c) { return Hash(c, HashAlgorithm::kSha1); }
core::Result<Operand> Sha256(Call& c) { return Hash(c, HashAlgorithm::kSha256); }
core::Result<Operand> Sha512(Call& c) { return Hash(c, HashAlgorithm::kSha512); }

}  // namespace switchboard::iml::fn
