#include "mail/imap.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include "mail/curl_transfer.hpp"
#include "mail/imap_protocol.hpp"
#include "mail/mime.hpp"

// How libcurl is driven (verified against libcurl 7.88, Debian 12):
// - A transfer whose URL names no mailbox and sets CURLOPT_CUSTOMREQUEST logs in (first time) and sends the
//   command. With a mailbox in the URL, libcurl first SELECTs it unless it believes it is already selected.
// - Untagged responses to a custom command arrive at the body callback; every response line, including the
//   tagged ones and those of libcurl's own LOGIN/SELECT, arrives at the header callback. The parsers read the
//   header lines, so they see the tagged status too.
// - "imap://host/MAILBOX;UID=n" makes libcurl send "UID FETCH n BODY[]" and hand exactly the literal's bytes
//   to the body callback. A custom FETCH could not do that: libcurl passes only untagged lines of a custom
//   command's answer, so a message body would be cut to its lines that happen to start with "* ".
// - BODY[] sets \Seen in a folder opened read-write. ListNew therefore lets libcurl SELECT the folder and then
//   sends EXAMINE itself: the server makes the folder read-only while libcurl still counts it as selected, so
//   its fetches go to the read-only folder. If libcurl ever re-selects (a dropped connection it reopened), the
//   tagged [READ-WRITE] shows it, and ListNew puts the \Seen flag back and examines again.
// - libcurl rejects a custom request that contains CR or LF, so IMAP literals cannot be sent; search texts go as
//   quoted strings (UTF-8 inside quotes, which servers that accept CHARSET UTF-8 take).

namespace switchboard::mail {

namespace {

namespace proto = imap_protocol;
using proto::Lines;

constexpr std::size_t kMaxCommandBody = 16 * 1024 * 1024;

core::Error Upstream(std::string message, std::string detail) {
    return core::Error::Make(core::Errc::kUpstreamError, std::move(message), std::move(detail));
}

std::string Upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

bool HasFlag(const std::vector<std::string>& flags, std::string_view flag) {
    return std::any_of(flags.begin(), flags.end(),
                       [&](const std::string& f) { return Upper(f) == Upper(std::string(flag)); });
}

class ImapConnection {
  public:
    explicit ImapConnection(const ServerSettings& settings) : transfer_(settings, detail::Protocol::kImap) {}

    // Logs in; the command is CAPABILITY so that the capabilities after login (MOVE, UIDPLUS, ESEARCH) are known.
    core::Result<void> Login() {
        auto lines = Run("", "", "CAPABILITY", "IMAP login");
        if (!lines) return lines.error();
        logged_in_ = true;
        capabilities_ = proto::ParseCapabilities(*lines);
        return {};
    }

    bool Has(std::string_view capability) const { return capabilities_.count(std::string(capability)) > 0; }

    // Runs `command` in `mailbox` (modified UTF-7; "" = none). `folder` is the user's name, for messages.
    core::Result<Lines> Run(const std::string& mailbox, const std::string& folder, const std::string& command,
                            std::string_view what) {
        curl_easy_setopt(transfer_.handle(), CURLOPT_CUSTOMREQUEST, command.c_str());
        const CURLcode code = transfer_.Perform(MailboxPath(mailbox), kMaxCommandBody);
        if (code != CURLE_OK) return Failure(code, what, folder);
        return transfer_.lines();
    }

    struct Fetched {
        std::string raw;
        bool reselected = false;  // libcurl SELECTed the folder again (read-write) before fetching
    };
    // The message (or with section "HEADER" its header) through libcurl's own UID FETCH ... BODY[...].
    core::Result<Fetched> Fetch(const std::string& mailbox, const std::string& folder, std::uint32_t uid,
                                const std::string& section, std::size_t max_bytes) {
        curl_easy_setopt(transfer_.handle(), CURLOPT_CUSTOMREQUEST, nullptr);
        std::string path = MailboxPath(mailbox) + ";UID=" + std::to_string(uid);
        if (!section.empty()) path += "/;SECTION=" + section;
        const CURLcode code = transfer_.Perform(path, max_bytes);
        if (code != CURLE_OK) return Failure(code, "IMAP fetch of UID " + std::to_string(uid), folder);
        Fetched fetched;
        fetched.raw = std::move(transfer_.body());
        fetched.reselected = proto::ParseMailboxStatus(transfer_.lines()).read_write;
        return fetched;
    }

  private:
    std::string MailboxPath(const std::string& mailbox) {
        if (mailbox.empty()) return "/";
        char* escaped = curl_easy_escape(transfer_.handle(), mailbox.c_str(), static_cast<int>(mailbox.size()));
        std::string path = "/" + std::string(escaped != nullptr ? escaped : "");
        curl_free(escaped);
        return path;
    }

    core::Error Failure(CURLcode code, std::string_view what, const std::string& folder) {
        const std::string where = transfer_.Where();
        if (!transfer_.refused_address().empty()) return *transfer_.TransportError(code, what);
        const std::string server = transfer_.Scrub(proto::LastRefusal(transfer_.lines()));
        const std::string said = server.empty() ? transfer_.CurlMessage(code) : server;
        switch (code) {
            case CURLE_LOGIN_DENIED:
                if (!logged_in_) {
                    return core::Error::Make(core::Errc::kUnauthenticated, "IMAP login refused",
                                             where + " refused the login: " + said);
                }
                // After the login, libcurl reports a refused SELECT this way.
                return core::NotFound("folder \"" + folder + "\" cannot be opened on " + where + ": " + said);
            case CURLE_QUOTE_ERROR: {
                const std::string upper = Upper(server);
                if (upper.find("[NONEXISTENT]") != std::string::npos ||
                    upper.find("[TRYCREATE]") != std::string::npos) {
                    return core::NotFound(std::string(what) + " on " + where + ": " + said);
                }
                return Upstream("IMAP command refused", std::string(what) + " on " + where + ": " + said);
            }
            case CURLE_REMOTE_FILE_NOT_FOUND:
                return core::NotFound(std::string(what) + ": no such message in \"" + folder + "\" on " + where);
            case CURLE_WRITE_ERROR:
                if (transfer_.body_overflow()) {
                    return core::Error::Make(core::Errc::kPayloadTooLarge, "Message too large",
                                             std::string(what) + ": larger than the limit");
                }
                break;
            default:
                break;
        }
        if (auto transport = transfer_.TransportError(code, what)) return *transport;
        return Upstream("IMAP server error", std::string(what) + " failed with " + where + ": " +
                                                 transfer_.CurlMessage(code) +
                                                 (server.empty() ? std::string() : " (server: " + server + ")"));
    }

    detail::CurlTransfer transfer_;
    bool logged_in_ = false;
    std::set<std::string> capabilities_;
};

core::Result<std::string> MailboxName(const std::string& folder) {
    if (folder.empty()) return core::InvalidArgument("folder name is empty");
    return proto::EncodeMailboxName(folder);
}

// " UNSEEN FROM \"x\" SUBJECT \"y\"" (with CHARSET UTF-8 in front when a text is not ASCII).
core::Result<std::pair<std::string, std::string>> SearchKeys(const SearchCriteria& criteria) {
    std::string keys;
    bool non_ascii = false;
    if (criteria.read == ReadFilter::kUnread) keys += " UNSEEN";
    if (criteria.read == ReadFilter::kRead) keys += " SEEN";
    for (const auto& [key, text] :
         {std::pair{"FROM", &criteria.from_contains}, std::pair{"SUBJECT", &criteria.subject_contains}}) {
        if (text->empty()) continue;
        auto quoted = proto::Quote(*text);
        if (!quoted) return quoted.error();
        keys += std::string(" ") + key + " " + *quoted;
        non_ascii = non_ascii || std::any_of(text->begin(), text->end(), [](unsigned char c) { return c >= 0x80; });
    }
    return std::pair{non_ascii ? std::string(" CHARSET UTF-8") : std::string(), keys};
}

struct Examined {
    std::uint32_t uidvalidity = 0;
    std::optional<std::uint32_t> uidnext;
    std::uint32_t exists = 0;
};

core::Result<Examined> Examine(ImapConnection& connection, const std::string& mailbox, const std::string& folder) {
    auto quoted = proto::Quote(mailbox);
    if (!quoted) return quoted.error();
    auto lines = connection.Run(mailbox, folder, "EXAMINE " + *quoted, "IMAP EXAMINE \"" + folder + "\"");
    if (!lines) return lines.error();
    const auto status = proto::ParseMailboxStatus(*lines);
    if (!status.uidvalidity) {
        return Upstream("IMAP server error", "the server named no UIDVALIDITY for \"" + folder + "\"");
    }
    if (!status.read_only) {
        return Upstream("IMAP server error", "the server did not open \"" + folder + "\" read-only (EXAMINE)");
    }
    return Examined{*status.uidvalidity, status.uidnext, status.exists.value_or(0)};
}

// UIDs > last matching the criteria, ascending, at most `limit`.
core::Result<std::vector<std::uint32_t>> SearchNew(ImapConnection& connection, const std::string& mailbox,
                                                   const std::string& folder, const SearchCriteria& criteria,
                                                   std::uint32_t last, const Examined& examined, std::size_t limit,
                                                   std::uint32_t window) {
    std::vector<std::uint32_t> found;
    if (last == std::numeric_limits<std::uint32_t>::max()) return found;
    if (examined.uidnext && *examined.uidnext <= last + 1) return found;
    auto keys = SearchKeys(criteria);
    if (!keys) return keys.error();
    const auto& [charset, filters] = *keys;
    const std::string what = "IMAP SEARCH in \"" + folder + "\"";
    auto collect = [&](const Lines& lines) {
        for (auto uid : proto::ParseSearch(lines)) {
            // "n:*" includes the highest UID even when it is below n.
            if (uid > last) found.push_back(uid);
        }
    };

    window = std::max<std::uint32_t>(window, 1);
    if (!examined.uidnext || examined.exists <= window) {
        auto lines = connection.Run(mailbox, folder,
                                    "UID SEARCH" + charset + " UID " + std::to_string(last + 1) + ":*" + filters, what);
        if (!lines) return lines.error();
        collect(*lines);
    } else {
        // Windows of UIDs keep each answer bounded; with ESEARCH, MIN jumps over gaps between matches.
        const std::uint64_t end = *examined.uidnext;  // exclusive
        std::uint64_t from = static_cast<std::uint64_t>(last) + 1;
        while (from < end && found.size() < limit) {
            if (connection.Has("ESEARCH")) {
                auto lines = connection.Run(mailbox, folder,
                                            "UID SEARCH RETURN (MIN)" + charset + " UID " + std::to_string(from) + ":" +
                                                std::to_string(end - 1) + filters,
                                            what);
                if (!lines) return lines.error();
                const auto min = proto::ParseSearch(*lines);
                if (min.empty()) break;
                from = std::max<std::uint64_t>(from, min.front());
            }
            const std::uint64_t to = std::min<std::uint64_t>(from + window - 1, end - 1);
            auto lines = connection.Run(
                mailbox, folder,
                "UID SEARCH" + charset + " UID " + std::to_string(from) + ":" + std::to_string(to) + filters, what);
            if (!lines) return lines.error();
            for (auto uid : proto::ParseSearch(*lines)) {
                if (uid > last && uid >= from && uid <= to) found.push_back(uid);
            }
            from = to + 1;
        }
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    if (found.size() > limit) found.resize(limit);
    return found;
}

core::Result<std::vector<proto::FetchedFlags>> FetchFlags(ImapConnection& connection, const std::string& mailbox,
                                                          const std::string& folder,
                                                          const std::vector<std::uint32_t>& uids) {
    auto lines = connection.Run(mailbox, folder, "UID FETCH " + proto::SequenceSet(uids) + " (UID FLAGS RFC822.SIZE)",
                                "IMAP FETCH in \"" + folder + "\"");
    if (!lines) return lines.error();
    return proto::ParseFetchFlags(*lines);
}

// Opens the folder read-write (libcurl's SELECT), checks UIDVALIDITY and that the message exists.
core::Result<proto::FetchedFlags> SelectMessage(ImapConnection& connection, const std::string& mailbox,
                                                const MessageRef& message) {
    if (message.uid == 0) return core::InvalidArgument("message UID must be at least 1");
    auto lines = connection.Run(mailbox, message.folder, "UID FETCH " + std::to_string(message.uid) + " (UID FLAGS)",
                                "IMAP FETCH in \"" + message.folder + "\"");
    if (!lines) return lines.error();
    const auto status = proto::ParseMailboxStatus(*lines);
    if (message.uidvalidity != 0 && status.uidvalidity && *status.uidvalidity != message.uidvalidity) {
        return core::NotFound("folder \"" + message.folder + "\" changed its UIDVALIDITY (" +
                              std::to_string(message.uidvalidity) + " -> " + std::to_string(*status.uidvalidity) +
                              "): UID " + std::to_string(message.uid) + " may name another message now");
    }
    for (auto& fetched : proto::ParseFetchFlags(*lines)) {
        if (fetched.uid == message.uid) return fetched;
    }
    return core::NotFound("no message with UID " + std::to_string(message.uid) + " in \"" + message.folder + "\"");
}

}  // namespace

core::Result<void> VerifyImap(const ServerSettings& settings) {
    ImapConnection connection(settings);
    if (auto login = connection.Login(); !login) return login.error();
    auto lines = connection.Run("INBOX", "INBOX", "NOOP", "IMAP SELECT INBOX");
    if (!lines) return lines.error();
    return {};
}

core::Result<Cursor> CurrentCursor(const ServerSettings& settings, const std::string& folder) {
    auto mailbox = MailboxName(folder);
    if (!mailbox) return mailbox.error();
    ImapConnection connection(settings);
    if (auto login = connection.Login(); !login) return login.error();
    auto examined = Examine(connection, *mailbox, folder);
    if (!examined) return examined.error();
    Cursor cursor{examined->uidvalidity, 0};
    if (examined->uidnext) {
        cursor.last_uid = *examined->uidnext - 1;
    } else {
        // No UIDNEXT: the highest UID there is.
        auto lines = connection.Run(*mailbox, folder, "UID SEARCH UID *", "IMAP SEARCH in \"" + folder + "\"");
        if (!lines) return lines.error();
        const auto uids = proto::ParseSearch(*lines);
        if (!uids.empty()) cursor.last_uid = uids.back();
    }
    return cursor;
}

core::Result<ListResult> ListNew(const ServerSettings& settings, const std::string& folder,
                                 const SearchCriteria& criteria, const Cursor& cursor, const ListOptions& options) {
    if (options.max_results == 0) return core::InvalidArgument("max_results must be at least 1");
    auto mailbox = MailboxName(folder);
    if (!mailbox) return mailbox.error();
    if (auto keys = SearchKeys(criteria); !keys) return keys.error();

    ImapConnection connection(settings);
    if (auto login = connection.Login(); !login) return login.error();
    auto examined = Examine(connection, *mailbox, folder);
    if (!examined) return examined.error();

    ListResult result;
    const bool same_folder = cursor.uidvalidity == examined->uidvalidity;
    result.uidvalidity_changed = cursor.uidvalidity != 0 && !same_folder;
    const std::uint32_t last = same_folder ? cursor.last_uid : 0;
    result.cursor = Cursor{examined->uidvalidity, last};

    auto uids = SearchNew(connection, *mailbox, folder, criteria, last, *examined, options.max_results + 1,
                          options.search_window);
    if (!uids) return uids.error();
    result.more = uids->size() > options.max_results;
    if (result.more) uids->resize(options.max_results);
    if (!result.more && examined->uidnext) {
        result.cursor.last_uid = std::max(last, *examined->uidnext - 1);
    }
    if (uids->empty()) return result;

    auto flags = FetchFlags(connection, *mailbox, folder, *uids);
    if (!flags) return flags.error();
    ParseOptions parse_options;
    parse_options.include_attachment_data = options.include_attachment_data;
    // The fetch bounds the bytes (one more than the limit tells "over the limit" apart from "exactly").
    parse_options.max_bytes = std::numeric_limits<std::size_t>::max();
    const std::size_t fetch_limit = std::max(options.max_message_bytes, options.max_message_bytes + 1);
    // Back to a read-only folder after libcurl dropped the connection (it does after a failed transfer) or
    // re-selected it; the UIDs listed so far must still mean the same messages.
    auto examine_again = [&]() -> core::Result<void> {
        auto again = Examine(connection, *mailbox, folder);
        if (!again) return again.error();
        if (again->uidvalidity != examined->uidvalidity) {
            return core::Error::Make(core::Errc::kUnavailable, "Folder changed",
                                     "\"" + folder + "\" changed its UIDVALIDITY while being listed; try again");
        }
        return {};
    };

    for (const auto uid : *uids) {
        result.cursor.last_uid = std::max(result.cursor.last_uid, uid);
        const auto info = std::find_if(flags->begin(), flags->end(), [&](const auto& f) { return f.uid == uid; });
        if (info == flags->end()) continue;  // expunged since the search
        ListedEmail listed;
        listed.uid = uid;
        listed.flags = info->flags;
        listed.seen = HasFlag(info->flags, "\\Seen");
        listed.size = static_cast<std::size_t>(info->size);
        listed.truncated = info->size > options.max_message_bytes;
        auto fetched = connection.Fetch(*mailbox, folder, uid, listed.truncated ? "HEADER" : "", fetch_limit);
        if (!fetched && fetched.error().code == core::Errc::kPayloadTooLarge && !listed.truncated) {
            // RFC822.SIZE understated the message: list its headers only rather than stop the watch on it.
            if (auto again = examine_again(); !again) return again.error();
            listed.truncated = true;
            fetched = connection.Fetch(*mailbox, folder, uid, "HEADER", fetch_limit);
        }
        if (!fetched && fetched.error().code == core::Errc::kNotFound) {
            if (auto again = examine_again(); !again) return again.error();
            continue;  // expunged meanwhile
        }
        if (!fetched) return fetched.error();
        if (fetched->reselected) {
            // The fetch ran in a read-write folder: undo the \Seen it set, then return to read-only.
            if (!listed.seen) {
                auto unset =
                    connection.Run(*mailbox, folder, "UID STORE " + std::to_string(uid) + " -FLAGS.SILENT (\\Seen)",
                                   "IMAP STORE in \"" + folder + "\"");
                if (!unset) return unset.error();
            }
            if (auto again = examine_again(); !again) return again.error();
        }
        auto email = ParseMessage(fetched->raw, parse_options);
        if (email) listed.email = std::move(*email);
        result.emails.push_back(std::move(listed));
    }
    spdlog::debug("imap: {} new message(s) in a folder of {}, cursor {}:{}{}", result.emails.size(), settings.host,
                  result.cursor.uidvalidity, result.cursor.last_uid, result.more ? " (more)" : "");
    return result;
}

core::Result<void> MarkSeen(const ServerSettings& settings, const MessageRef& message, bool seen) {
    auto mailbox = MailboxName(message.folder);
    if (!mailbox) return mailbox.error();
    ImapConnection connection(settings);
    if (auto login = connection.Login(); !login) return login.error();
    auto selected = SelectMessage(connection, *mailbox, message);
    if (!selected) return selected.error();
    auto lines =
        connection.Run(*mailbox, message.folder,
                       "UID STORE " + std::to_string(message.uid) + (seen ? " +" : " -") + "FLAGS.SILENT (\\Seen)",
                       "IMAP STORE in \"" + message.folder + "\"");
    if (!lines) return lines.error();
    return {};
}

core::Result<void> Move(const ServerSettings& settings, const MessageRef& message, const std::string& to_folder) {
    auto mailbox = MailboxName(message.folder);
    if (!mailbox) return mailbox.error();
    auto target = MailboxName(to_folder);
    if (!target) return target.error();
    auto quoted_target = proto::Quote(*target);
    if (!quoted_target) return quoted_target.error();
    ImapConnection connection(settings);
    if (auto login = connection.Login(); !login) return login.error();
    auto selected = SelectMessage(connection, *mailbox, message);
    if (!selected) return selected.error();
    const std::string uid = std::to_string(message.uid);
    const std::string what = "IMAP move to \"" + to_folder + "\"";
    if (connection.Has("MOVE")) {
        auto moved = connection.Run(*mailbox, message.folder, "UID MOVE " + uid + " " + *quoted_target, what);
        if (!moved) return moved.error();
        return {};
    }
    auto copied = connection.Run(*mailbox, message.folder, "UID COPY " + uid + " " + *quoted_target, what);
    if (!copied) return copied.error();
    auto deleted = connection.Run(*mailbox, message.folder, "UID STORE " + uid + " +FLAGS.SILENT (\\Deleted)", what);
    if (!deleted) return deleted.error();
    auto expunged = connection.Run(*mailbox, message.folder,
                                   connection.Has("UIDPLUS") ? "UID EXPUNGE " + uid : std::string("EXPUNGE"), what);
    if (!expunged) return expunged.error();
    return {};
}

}  // namespace switchboard::mail
