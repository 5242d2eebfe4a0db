#include "mail/imap_protocol.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace switchboard::mail::imap_protocol {

namespace {

std::string Upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && Upper(text.substr(0, prefix.size())) == Upper(prefix);
}

std::optional<std::uint32_t> ParseNumber(std::string_view text) {
    std::uint32_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr == text.data()) return std::nullopt;
    return value;
}

// Splits on single spaces, keeping parenthesised lists as one token ("(UID 7 FLAGS (\Seen))" stays whole).
std::vector<std::string_view> Tokens(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i >= line.size()) break;
        const std::size_t start = i;
        int depth = 0;
        bool quoted = false;
        for (; i < line.size(); ++i) {
            const char c = line[i];
            if (quoted) {
                if (c == '\\' && i + 1 < line.size()) {
                    ++i;
                } else if (c == '"') {
                    quoted = false;
                }
                continue;
            }
            if (c == '"') {
                quoted = true;
            } else if (c == '(' || c == '[') {
                ++depth;
            } else if (c == ')' || c == ']') {
                if (depth > 0) --depth;
            } else if (c == ' ' && depth == 0) {
                break;
            }
        }
        out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::string_view StripParens(std::string_view text) {
    if (text.size() >= 2 && text.front() == '(' && text.back() == ')') return text.substr(1, text.size() - 2);
    return text;
}

// The response code between brackets at the start of a response text ("[UIDNEXT 5] Predicted").
std::optional<std::string_view> ResponseCode(std::string_view text) {
    if (text.empty() || text.front() != '[') return std::nullopt;
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return text.substr(1, close - 1);
}

// A tagged status response: "<tag> OK|NO|BAD <text>"; the tag is an atom that is neither "*" nor "+".
struct Tagged {
    std::string status;  // upper case
    std::string_view text;
};
std::optional<Tagged> ParseTagged(std::string_view line) {
    if (line.empty() || line[0] == '*' || line[0] == '+') return std::nullopt;
    const auto space = line.find(' ');
    if (space == std::string_view::npos || space == 0) return std::nullopt;
    std::string_view rest = line.substr(space + 1);
    const auto space2 = rest.find(' ');
    std::string status = Upper(rest.substr(0, space2));
    if (status != "OK" && status != "NO" && status != "BAD") return std::nullopt;
    return Tagged{status, space2 == std::string_view::npos ? std::string_view() : rest.substr(space2 + 1)};
}

void AddSequence(std::string_view set, std::vector<std::uint32_t>& out) {
    std::size_t start = 0;
    while (start <= set.size()) {
        const auto comma = set.find(',', start);
        const std::string_view item = set.substr(start, comma == std::string_view::npos ? set.npos : comma - start);
        const auto colon = item.find(':');
        if (colon == std::string_view::npos) {
            if (auto n = ParseNumber(item)) out.push_back(*n);
        } else {
            auto a = ParseNumber(item.substr(0, colon));
            auto b = ParseNumber(item.substr(colon + 1));
            if (a && b) {
                const auto low = std::min(*a, *b);
                const auto high = std::max(*a, *b);
                // A server could name a range of billions; nothing sane asks for that many at once.
                if (high - low <= 1'000'000) {
                    for (std::uint64_t n = low; n <= high; ++n) out.push_back(static_cast<std::uint32_t>(n));
                }
            }
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
}

void AppendUtf16(std::uint32_t code_point, std::vector<std::uint16_t>& out) {
    if (code_point >= 0x10000) {
        code_point -= 0x10000;
        out.push_back(static_cast<std::uint16_t>(0xD800 + (code_point >> 10)));
        out.push_back(static_cast<std::uint16_t>(0xDC00 + (code_point & 0x3FF)));
    } else {
        out.push_back(static_cast<std::uint16_t>(code_point));
    }
}

void FlushModifiedBase64(std::vector<std::uint16_t>& units, std::string& out) {
    if (units.empty()) return;
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    std::vector<unsigned char> bytes;
    for (auto u : units) {
        bytes.push_back(static_cast<unsigned char>(u >> 8));
        bytes.push_back(static_cast<unsigned char>(u & 0xFF));
    }
    out += '&';
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char b : bytes) {
        buffer = (buffer << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 0x3F];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
    out += '-';
    units.clear();
}

}  // namespace

core::Result<std::string> Quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\r' || c == '\n' || c == '\0') {
            return core::InvalidArgument("IMAP strings cannot contain line breaks or NUL characters");
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

core::Result<std::string> EncodeMailboxName(std::string_view utf8) {
    std::string out;
    std::vector<std::uint16_t> pending;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F) return core::InvalidArgument("folder names cannot contain control characters");
            FlushModifiedBase64(pending, out);
            out += c == '&' ? std::string("&-") : std::string(1, static_cast<char>(c));
            ++i;
            continue;
        }
        int length = 0;
        std::uint32_t code_point = 0;
        if ((c & 0xE0) == 0xC0) {
            length = 2;
            code_point = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3;
            code_point = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            length = 4;
            code_point = c & 0x07;
        } else {
            return core::InvalidArgument("folder name is not valid UTF-8");
        }
        if (i + static_cast<std::size_t>(length) > utf8.size()) {
            return core::InvalidArgument("folder name is not valid UTF-8");
        }
        for (int k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(utf8[i + static_cast<std::size_t>(k)]);
            if ((next & 0xC0) != 0x80) return core::InvalidArgument("folder name is not valid UTF-8");
            code_point = (code_point << 6) | (next & 0x3F);
        }
        const bool overlong = (length == 2 && code_point < 0x80) || (length == 3 && code_point < 0x800) ||
                              (length == 4 && code_point < 0x10000);
        if (overlong || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
            return core::InvalidArgument("folder name is not valid UTF-8");
        }
        AppendUtf16(code_point, pending);
        i += static_cast<std::size_t>(length);
    }
    FlushModifiedBase64(pending, out);
    return out;
}

std::string SequenceSet(const std::vector<std::uint32_t>& sorted_uids) {
    std::string out;
    for (std::size_t i = 0; i < sorted_uids.size();) {
        std::size_t j = i;
        while (j + 1 < sorted_uids.size() && sorted_uids[j + 1] == sorted_uids[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(sorted_uids[i]);
        if (j > i) out += ':' + std::to_string(sorted_uids[j]);
        i = j + 1;
    }
    return out;
}

MailboxStatus ParseMailboxStatus(const Lines& lines) {
    MailboxStatus status;
    for (const auto& line : lines) {
        if (StartsWithNoCase(line, "* OK ")) {
            auto code = ResponseCode(std::string_view(line).substr(5));
            if (!code) continue;
            const auto tokens = Tokens(*code);
            if (tokens.size() == 2 && Upper(tokens[0]) == "UIDVALIDITY") status.uidvalidity = ParseNumber(tokens[1]);
            if (tokens.size() == 2 && Upper(tokens[0]) == "UIDNEXT") status.uidnext = ParseNumber(tokens[1]);
        } else if (StartsWithNoCase(line, "* ")) {
            const auto tokens = Tokens(std::string_view(line).substr(2));
            if (tokens.size() >= 2 && Upper(tokens[1]) == "EXISTS") status.exists = ParseNumber(tokens[0]);
        } else if (auto tagged = ParseTagged(line); tagged && tagged->status == "OK") {
            if (auto code = ResponseCode(tagged->text)) {
                const std::string upper = Upper(*code);
                if (upper == "READ-ONLY" || upper == "READ-WRITE") {
                    status.read_only = upper == "READ-ONLY";
                    status.read_write = upper == "READ-WRITE";
                }
            }
        }
    }
    return status;
}

std::vector<std::uint32_t> ParseSearch(const Lines& lines) {
    std::vector<std::uint32_t> out;
    for (const auto& line : lines) {
        if (StartsWithNoCase(line, "* SEARCH")) {
            for (auto token : Tokens(std::string_view(line).substr(8))) {
                // "(MODSEQ n)" may follow the numbers (CONDSTORE); it is not a UID.
                if (auto n = ParseNumber(token); n && token.find_first_not_of("0123456789") == token.npos) {
                    out.push_back(*n);
                }
            }
        } else if (StartsWithNoCase(line, "* ESEARCH")) {
            const auto tokens = Tokens(std::string_view(line).substr(9));
            for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
                const std::string name = Upper(tokens[i]);
                if (name == "ALL" || name == "MIN" || name == "MAX") {
                    AddSequence(tokens[i + 1], out);
                    ++i;
                }
            }
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<FetchedFlags> ParseFetchFlags(const Lines& lines) {
    std::vector<FetchedFlags> out;
    for (const auto& line : lines) {
        if (!StartsWithNoCase(line, "* ")) continue;
        const auto tokens = Tokens(std::string_view(line).substr(2));
        if (tokens.size() < 3 || Upper(tokens[1]) != "FETCH") continue;
        const auto items = Tokens(StripParens(tokens[2]));
        FetchedFlags fetched;
        bool has_uid = false;
        for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
            const std::string name = Upper(items[i]);
            if (name == "UID") {
                if (auto n = ParseNumber(items[i + 1])) {
                    fetched.uid = *n;
                    has_uid = true;
                }
            } else if (name == "FLAGS") {
                for (auto flag : Tokens(StripParens(items[i + 1]))) fetched.flags.emplace_back(flag);
            } else if (name == "RFC822.SIZE") {
                if (auto n = ParseNumber(items[i + 1])) fetched.size = *n;
            }
        }
        if (has_uid) out.push_back(std::move(fetched));
    }
    return out;
}

std::set<std::string> ParseCapabilities(const Lines& lines) {
    std::set<std::string> out;
    for (const auto& line : lines) {
        std::string_view list;
        if (StartsWithNoCase(line, "* CAPABILITY ")) {
            list = std::string_view(line).substr(13);
        } else if (const auto open = Upper(line).find("[CAPABILITY "); open != std::string::npos) {
            const auto close = line.find(']', open);
            if (close == std::string::npos) continue;
            list = std::string_view(line).substr(open + 12, close - open - 12);
        } else {
            continue;
        }
        out.clear();
        for (auto token : Tokens(list)) out.insert(Upper(token));
    }
    return out;
}

std::string LastRefusal(const Lines& lines) {
    std::string tagged_text;
    std::string untagged_text;
    for (const auto& line : lines) {
        if (auto tagged = ParseTagged(line); tagged && tagged->status != "OK") {
            tagged_text = std::string(tagged->text);
        } else if (StartsWithNoCase(line, "* BYE ") || StartsWithNoCase(line, "* NO ") ||
                   StartsWithNoCase(line, "* BAD ")) {
            untagged_text = line.substr(line.find(' ', 2) + 1);
        }
    }
    return tagged_text.empty() ? untagged_text : tagged_text;
}

}  // namespace switchboard::mail::imap_protocol
