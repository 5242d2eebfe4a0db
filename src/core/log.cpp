#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace switchboard::core {

namespace {

// Redaction rules, applied in order, each over the output of the previous one; each keeps the key and masks the
// value. They were three std::regex_replace calls (≈450,000 instructions for a typical access line, a third of
// the webhook path); these hand-written scanners reproduce exactly what those regular expressions replaced
// (ECMAScript, leftmost match, scanning resumes after each replacement):
//   1. sbt_[A-Za-z0-9_\-]+                                                   → sbt_[redacted]
//   2. ((?:authorization|x-api-key|cookie)\s*[:=]\s*"?)(?:(token|bearer|basic)\s+)?[^\s",}]+  (icase)
//                                                                            → $1$2 [redacted]
//   3. ("?(?:password|passwd|secret|client_secret|clientSecret|api_?key|apiKey|access_?token|accessToken|
//        refresh_?token|refreshToken|token|master_?key)"?\s*[:=]\s*"?)[^\s",}&]+  (icase)  → $1[redacted]
// tests/unit/core/log_test.cpp keeps those expressions as the oracle and compares the two on a corpus.

// \s of std::regex in the classic locale.
constexpr bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// Whether `text` ends, at `end`, with `word` (lower-case ASCII) compared case-insensitively, the word starting at
// or after `from` (a match never starts before the point where the previous replacement ended).
bool EndsWithWord(std::string_view text, std::size_t from, std::size_t end, std::string_view word) {
    if (end - from < word.size()) return false;
    const std::size_t begin = end - word.size();
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (AsciiLower(text[begin + i]) != word[i]) return false;
    }
    return true;
}

// Rule 1. "sbt_" cannot overlap itself, so a miss resumes right after it.
bool RedactApiTokens(std::string_view in, std::string& out) {
    constexpr std::string_view kPrefix = "sbt_";
    const auto is_token_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    };
    bool any = false;
    std::size_t copied = 0;
    std::size_t pos = 0;
    while ((pos = in.find(kPrefix, pos)) != std::string_view::npos) {
        std::size_t end = pos + kPrefix.size();
        while (end < in.size() && is_token_char(in[end])) ++end;
        if (end == pos + kPrefix.size()) {
            pos = end;
            continue;
        }
        out.append(in.substr(copied, pos - copied));
        out += "sbt_[redacted]";
        copied = pos = end;
        any = true;
    }
    if (any) out.append(in.substr(copied));
    return any;
}

// The positions of ':' and '=' in order: one memchr per separator character, cached until passed (a line holds
// few of them), rather than a test on every byte.
class Separators {
  public:
    explicit Separators(std::string_view text) : text_(text), colon_(Find(':', 0)), equals_(Find('=', 0)) {}
    // The first separator at or after `from`; text.size() when there is none.
    std::size_t Next(std::size_t from) {
        if (colon_ < from) colon_ = Find(':', from);
        if (equals_ < from) equals_ = Find('=', from);
        return std::min(colon_, equals_);
    }

  private:
    std::size_t Find(char c, std::size_t from) const { return std::min(text_.find(c, from), text_.size()); }

    std::string_view text_;
    std::size_t colon_;
    std::size_t equals_;
};

// Rules 2 and 3 both read `key ... [:=] ... value`. Rather than trying every start position, the scanners visit
// each ':' / '=' and look back for a key ending there: keys are letters, '_' and '-' only, so the first separator
// whose key and value both match belongs to the leftmost match. Only the key's end matters for the output (the
// key is copied as is), so a key that is a suffix of others (token of access_token) stands for all of them, as
// long as it starts at or after the resume point.
bool RedactAuthHeaders(std::string_view in, std::string& out) {
    const auto is_value_char = [](char c) { return !IsSpace(c) && c != '"' && c != ',' && c != '}'; };
    bool any = false;
    std::size_t copied = 0;
    std::size_t pos = 0;  // where the regex would resume searching
    Separators separators(in);
    for (std::size_t sep = separators.Next(0); sep < in.size(); sep = separators.Next(sep + 1)) {
        std::size_t key_end = sep;
        while (key_end > pos && IsSpace(in[key_end - 1])) --key_end;
        if (key_end == pos) continue;
        bool key = false;
        switch (AsciiLower(in[key_end - 1])) {
            case 'n':
                key = EndsWithWord(in, pos, key_end, "authorization");
                break;
            case 'y':
                key = EndsWithWord(in, pos, key_end, "x-api-key");
                break;
            case 'e':
                key = EndsWithWord(in, pos, key_end, "cookie");
                break;
            default:
                break;
        }
        if (!key) continue;
        std::size_t v = sep + 1;
        while (v < in.size() && IsSpace(in[v])) ++v;
        if (v < in.size() && in[v] == '"') ++v;
        // (?:(token|bearer|basic)\s+)? is tried first; when no value follows it the regex backtracks and takes the
        // scheme word itself as the value, leaving $2 empty ("Authorization: Bearer" → "Authorization:  [redacted]").
        std::string_view scheme;
        std::size_t value = v;
        for (const std::string_view word :
             {std::string_view("token"), std::string_view("bearer"), std::string_view("basic")}) {
            if (in.size() - v <= word.size() || !EndsWithWord(in, v, v + word.size(), word)) continue;
            std::size_t after = v + word.size();
            if (!IsSpace(in[after])) continue;
            while (after < in.size() && IsSpace(in[after])) ++after;
            if (after < in.size() && is_value_char(in[after])) {
                scheme = in.substr(v, word.size());
                value = after;
            }
            break;
        }
        if (value == in.size() || !is_value_char(in[value])) continue;
        std::size_t value_end = value + 1;
        while (value_end < in.size() && is_value_char(in[value_end])) ++value_end;
        out.append(in.substr(copied, v - copied));
        out.append(scheme);
        out += " [redacted]";
        copied = pos = value_end;
        sep = value_end - 1;
        any = true;
    }
    if (any) out.append(in.substr(copied));
    return any;
}

bool RedactSecretFields(std::string_view in, std::string& out) {
    const auto is_value_char = [](char c) { return !IsSpace(c) && c != '"' && c != ',' && c != '}' && c != '&'; };
    bool any = false;
    std::size_t copied = 0;
    std::size_t pos = 0;
    Separators separators(in);
    for (std::size_t sep = separators.Next(0); sep < in.size(); sep = separators.Next(sep + 1)) {
        std::size_t key_end = sep;
        while (key_end > pos && IsSpace(in[key_end - 1])) --key_end;
        if (key_end > pos && in[key_end - 1] == '"') --key_end;  // key"?\s*[:=]: the quote comes before spaces
        if (key_end == pos) continue;
        bool key = false;
        switch (AsciiLower(in[key_end - 1])) {
            case 'd':
                key = EndsWithWord(in, pos, key_end, "password") || EndsWithWord(in, pos, key_end, "passwd");
                break;
            case 't':  // also client_secret, clientSecret
                key = EndsWithWord(in, pos, key_end, "secret");
                break;
            case 'n':  // also access_?token, accessToken, refresh_?token, refreshToken
                key = EndsWithWord(in, pos, key_end, "token");
                break;
            case 'y':
                key = EndsWithWord(in, pos, key_end, "api_key") || EndsWithWord(in, pos, key_end, "apikey") ||
                      EndsWithWord(in, pos, key_end, "master_key") || EndsWithWord(in, pos, key_end, "masterkey");
                break;
            default:
                break;
        }
        if (!key) continue;
        std::size_t value = sep + 1;
        while (value < in.size() && IsSpace(in[value])) ++value;
        if (value < in.size() && in[value] == '"') ++value;
        if (value == in.size() || !is_value_char(in[value])) continue;
        std::size_t value_end = value + 1;
        while (value_end < in.size() && is_value_char(in[value_end])) ++value_end;
        out.append(in.substr(copied, value - copied));
        out += "[redacted]";
        copied = pos = value_end;
        sep = value_end - 1;
        any = true;
    }
    if (any) out.append(in.substr(copied));
    return any;
}

// Sets `out` and returns true when the redacted line differs from `line`; false (out untouched) when it is the
// same, so that the sink can pass the message on without copying it.
bool RedactChanged(std::string_view line, std::string& out) {
    // Log lines longer than this are cut (this bound dates from std::regex, which recursed per character).
    constexpr std::size_t kMaxLine = 4096;
    bool changed = false;
    std::string current;  // the line so far, once changed
    std::string_view view = line;
    if (line.size() > kMaxLine) {
        current.assign(line.substr(0, kMaxLine));
        current += "…[" + std::to_string(line.size() - kMaxLine) + " more bytes]";
        view = current;
        changed = true;
    }
    std::string next;
    for (const auto rule : {&RedactApiTokens, &RedactAuthHeaders, &RedactSecretFields}) {
        next.clear();
        if (!rule(view, next)) continue;
        current.swap(next);
        view = current;
        changed = true;
    }
    if (!changed) return false;
    out = std::move(current);
    return true;
}

class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
    void add(std::shared_ptr<spdlog::sinks::sink> s) {
        std::lock_guard lock(mutex_);
        extra_.push_back(std::move(s));
    }

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string clean;
        if (!RedactChanged(std::string_view(msg.payload.data(), msg.payload.size()), clean)) {
            Forward(msg);
            return;
        }
        spdlog::details::log_msg copy = msg;
        copy.payload = clean;
        Forward(copy);
    }
    void flush_() override {
        inner_->flush();
        for (auto& s : extra_) s->flush();
    }

  private:
    void Forward(const spdlog::details::log_msg& msg) {
        inner_->log(msg);
        for (auto& s : extra_) s->log(msg);
    }

    std::shared_ptr<spdlog::sinks::sink> inner_;
    std::vector<std::shared_ptr<spdlog::sinks::sink>> extra_;
};

std::shared_ptr<RedactingSink>& Root() {
    static std::shared_ptr<RedactingSink> root;
    return root;
}

std::unique_ptr<spdlog::formatter> LineFormatter();

}  // namespace

std::string Redact(std::string_view line) {
    std::string out;
    if (!RedactChanged(line, out)) out.assign(line);
    return out;
}

namespace {
std::unique_ptr<spdlog::formatter> LineFormatter() {
    return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
}

}  // namespace

void SetupLogging(std::string_view level) {
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    err->set_formatter(LineFormatter());
    auto root = std::make_shared<RedactingSink>(err);
    Root() = root;
    auto logger = std::make_shared<spdlog::logger>("switchboard", root);
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

void AddLogFile(const std::string& path) {
    if (!Root()) SetupLogging("info");
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    file->set_formatter(LineFormatter());
    Root()->add(file);
}

}  // namespace switchboard::core
