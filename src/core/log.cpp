#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <mutex>
#include <regex>

namespace switchboard::core {

namespace {

// Redaction rules, applied in order. Each keeps the key and masks the value.
const std::regex& TokenRe() {
    static const std::regex re(R"(sbt_[A-Za-z0-9_\-]+)");
    return re;
}
const std::regex& AuthHeaderRe() {
    static const std::regex re(
        R"(((?:authorization|x-api-key|cookie)\s*[:=]\s*"?)(?:(token|bearer|basic)\s+)?[^\s",}]+)", std::regex::icase);
    return re;
}
const std::regex& KeyValueRe() {
    static const std::regex re(
        R"((\"?(?:password|passwd|secret|client_secret|clientSecret|api_?key|apiKey|access_?token|accessToken|refresh_?token|refreshToken|token|master_?key)\"?\s*[:=]\s*\"?)[^\s\",}&]+)",
        std::regex::icase);
    return re;
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
        const std::string clean = Redact(std::string_view(msg.payload.data(), msg.payload.size()));
        spdlog::details::log_msg copy(msg.time, msg.source, msg.logger_name, msg.level, clean);
        inner_->log(copy);
        for (auto& s : extra_) s->log(copy);
    }
    void flush_() override {
        inner_->flush();
        for (auto& s : extra_) s->flush();
    }

  private:
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
    // std::regex recurses per character: redact a bounded line (log lines longer than this are cut).
    constexpr std::size_t kMaxLine = 4096;
    std::string s(line.substr(0, kMaxLine));
    if (line.size() > kMaxLine) s += "…[" + std::to_string(line.size() - kMaxLine) + " more bytes]";
    s = std::regex_replace(s, TokenRe(), "sbt_[redacted]");
    s = std::regex_replace(s, AuthHeaderRe(), "$1$2 [redacted]");
    s = std::regex_replace(s, KeyValueRe(), "$1[redacted]");
    return s;
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
