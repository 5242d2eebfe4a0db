#include "mail/smtp.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "mail/curl_transfer.hpp"

namespace switchboard::mail {

namespace {

constexpr std::size_t kMaxReplyBody = 64 * 1024;

struct SlistFree {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

bool IsReply(const std::string& line, char first_digit) {
    return line.size() >= 3 && line[0] == first_digit && std::isdigit(static_cast<unsigned char>(line[1])) &&
           std::isdigit(static_cast<unsigned char>(line[2])) && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
}

std::string LastReply(const std::vector<std::string>& lines, std::initializer_list<char> first_digits) {
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        for (char digit : first_digits) {
            if (IsReply(*it, digit)) return *it;
        }
    }
    return {};
}

bool OffersAuth(const std::vector<std::string>& lines) {
    return std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
        if (!IsReply(line, '2') || line.size() < 8) return false;
        std::string keyword = line.substr(4, 4);
        std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        return keyword == "AUTH";
    });
}

bool Authenticated(const std::vector<std::string>& lines) {
    return std::any_of(lines.begin(), lines.end(), [](const std::string& line) { return line.rfind("235", 0) == 0; });
}

core::Result<void> CheckEnvelopeAddress(const std::string& address, std::string_view role) {
    const bool bad = address.empty() || std::any_of(address.begin(), address.end(), [](unsigned char c) {
                         return c <= 0x20 || c == 0x7f || c == '<' || c == '>';
                     });
    if (bad) return core::InvalidArgument(std::string(role) + ": not an email address: \"" + address + "\"");
    return {};
}

core::Error Failure(const detail::CurlTransfer& transfer, CURLcode code, std::string_view what) {
    const std::string where = transfer.Where();
    if (!transfer.refused_address().empty()) return *transfer.TransportError(code, what);
    const std::string refusal = transfer.Scrub(LastReply(transfer.lines(), {'4', '5'}));
    if (code == CURLE_LOGIN_DENIED) {
        return core::Error::Make(
            core::Errc::kUnauthenticated, "SMTP login refused",
            where + " refused the login: " + (refusal.empty() ? transfer.CurlMessage(code) : refusal));
    }
    if (!refusal.empty()) {
        return core::Error::Make(core::Errc::kUpstreamError, "SMTP server refused",
                                 std::string(what) + ": " + where + " answered: " + refusal);
    }
    if (auto transport = transfer.TransportError(code, what)) return *transport;
    return core::Error::Make(core::Errc::kUpstreamError, "SMTP server error",
                             std::string(what) + " failed with " + where + ": " + transfer.CurlMessage(code));
}

struct Upload {
    const std::string* data;
    std::size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const std::size_t n = std::min(size * count, upload->data->size() - upload->offset);
    std::memcpy(buffer, upload->data->data() + upload->offset, n);
    upload->offset += n;
    return n;
}

std::string Path(const ServerSettings& settings) {
    // The URL path is the EHLO name; without one libcurl sends this machine's host name.
    if (settings.ehlo_name.empty()) return "";
    std::string path = "/";
    for (char c : settings.ehlo_name) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') path += c;
    }
    return path;
}

}  // namespace

core::Result<void> VerifySmtp(const ServerSettings& settings) {
    detail::CurlTransfer transfer(settings, detail::Protocol::kSmtp);
    // NOOP after EHLO/STARTTLS/AUTH: a complete exchange that sends no mail and ends with QUIT.
    curl_easy_setopt(transfer.handle(), CURLOPT_CUSTOMREQUEST, "NOOP");
    const CURLcode code = transfer.Perform(Path(settings), kMaxReplyBody);
    if (code != CURLE_OK) return Failure(transfer, code, "SMTP verify");
    if (!settings.username.empty() && !Authenticated(transfer.lines())) {
        // libcurl skips AUTH silently when the server does not offer it; the credentials were then never checked.
        return core::Error::Make(
            core::Errc::kUnauthenticated, "SMTP login not possible",
            transfer.Where() + " offers no authentication (AUTH)" +
                (settings.security == Security::kNone ? " without encryption; choose TLS or STARTTLS" : std::string()) +
                (OffersAuth(transfer.lines()) ? " that libcurl supports" : std::string()));
    }
    return {};
}

core::Result<SendReceipt> Send(const ServerSettings& settings, const std::string& envelope_from,
                               const std::vector<std::string>& recipients, const std::string& raw_message) {
    if (auto checked = CheckEnvelopeAddress(envelope_from, "from"); !checked) return checked.error();
    if (recipients.empty()) return core::InvalidArgument("no recipient");
    Slist rcpt;
    for (const auto& recipient : recipients) {
        if (auto checked = CheckEnvelopeAddress(recipient, "recipient"); !checked) return checked.error();
        curl_slist* appended = curl_slist_append(rcpt.get(), ("<" + recipient + ">").c_str());
        if (appended == nullptr) return core::Internal("out of memory");
        rcpt.release();
        rcpt.reset(appended);
    }
    if (raw_message.empty()) return core::InvalidArgument("empty message");

    detail::CurlTransfer transfer(settings, detail::Protocol::kSmtp);
    CURL* curl = transfer.handle();
    const std::string from = "<" + envelope_from + ">";
    Upload upload{&raw_message};
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(raw_message.size()));
    const CURLcode code = transfer.Perform(Path(settings), kMaxReplyBody);
    if (code != CURLE_OK) return Failure(transfer, code, "SMTP send");
    SendReceipt receipt;
    receipt.server_reply = transfer.Scrub(LastReply(transfer.lines(), {'2'}));
    spdlog::debug("smtp: sent {} bytes to {} recipient(s) via {}: {}", raw_message.size(), recipients.size(),
                  transfer.Where(), receipt.server_reply);
    return receipt;
}

core::Result<SendReceipt> SendEmail(const ServerSettings& settings, const OutgoingEmail& email,
                                    const ComposeOptions& options) {
    ComposeOptions effective = options;
    // Chosen here rather than inside ComposeMessage so that the receipt can name it.
    if (effective.message_id.empty()) effective.message_id = NewMessageId(email.from.address);
    auto raw = ComposeMessage(email, effective);
    if (!raw) return raw.error();
    auto receipt = Send(settings, email.from.address, EnvelopeRecipients(email), *raw);
    if (!receipt) return receipt.error();
    receipt->message_id = effective.message_id;
    return receipt;
}

}  // namespace switchboard::mail
