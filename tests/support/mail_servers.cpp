#include "support/mail_servers.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kDovecot = "/usr/sbin/dovecot";
constexpr const char* kPostfix = "/usr/sbin/postfix";
constexpr const char* kPostfixMaster = "/usr/lib/postfix/sbin/master";
constexpr const char* kInstallHint =
    "The mail tests run a real Dovecot and Postfix: install dovecot-imapd, dovecot-lmtpd, postfix and openssl "
    "(scripts/install-deps.sh test does it without starting their system services).";
// Dovecot 2.3's post-login capabilities (imap_capability replaces the whole list, so hiding one means listing the
// others).
constexpr const char* kDovecotCapabilities =
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
    "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
    "I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE "
    "SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY";

std::mutex& AccountMutex() {
    static std::mutex m;
    return m;
}

int FreeLoopbackPort() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        close(fd);
        throw std::runtime_error("cannot bind a free port on 127.0.0.1");
    }
    close(fd);
    return ntohs(addr.sin_port);
}

void WriteFile(const fs::path& path, const std::string& text, fs::perms perms = fs::perms(0644)) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path.string());
    fs::permissions(path, perms);
}

struct Account {
    uid_t uid;
    gid_t gid;
};
Account SystemUser(const char* name) {
    const passwd* pw = getpwnam(name);
    if (pw == nullptr) throw std::runtime_error(std::string("no '") + name + "' system user. " + kInstallHint);
    return {pw->pw_uid, pw->pw_gid};
}

void Chown(const fs::path& path, Account account) {
    if (chown(path.c_str(), account.uid, account.gid) != 0) throw std::runtime_error("chown " + path.string());
}

// Starts a server in the foreground, output to `log`, optionally as another user; it gets SIGKILL when the
// thread that started it (the test's main thread) dies.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log, std::optional<Account> as) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid > 0) return pid;
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) _exit(126);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    // No setpgid: Postfix's master calls setsid(), which a process group leader cannot.
    if (as) {
        if (setgroups(0, nullptr) != 0 || setgid(as->gid) != 0 || setuid(as->uid) != 0) _exit(125);
    }
    // After the credential change, which clears it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(124);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
}

void StopProcess(int& pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid = -1;
}

// Connects to 127.0.0.1:port until the server's greeting starts with `prefix`. On failure, `why` says whether the
// process exited (and how) or the deadline passed.
bool WaitForGreeting(int port, const std::string& prefix, pid_t pid, Clock::time_point deadline, std::string& why) {
    while (Clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                    : "killed by signal " + std::to_string(WTERMSIG(status));
            return false;
        }
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        std::string greeting;
        if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 2000) == 1) {
                char buffer[256];
                const ssize_t n = read(fd, buffer, sizeof buffer);
                if (n > 0) greeting.assign(buffer, static_cast<std::size_t>(n));
            }
        }
        if (fd >= 0) close(fd);
        if (greeting.rfind(prefix, 0) == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why = "no greeting on port " + std::to_string(port) + " within 30 s";
    return false;
}

std::string RandomPassword() {
    static constexpr char kChars[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    std::random_device device;
    std::uniform_int_distribution<std::size_t> pick(0, sizeof(kChars) - 2);
    std::string out;
    for (int i = 0; i < 20; ++i) out += kChars[pick(device)];
    return out;
}

std::string DovecotConfig(const std::string& root, const MailServers::Options& options, int imap, int imaps, int lmtp,
                          int auth) {
    const std::string d = root + "/dovecot";
    std::string capabilities;
    if (!options.hidden_capabilities.empty()) {
        std::string all = kDovecotCapabilities;
        std::size_t start = 0;
        while (start < all.size()) {
            auto end = all.find(' ', start);
            if (end == std::string::npos) end = all.size();
            const std::string cap = all.substr(start, end - start);
            if (std::find(options.hidden_capabilities.begin(), options.hidden_capabilities.end(), cap) ==
                options.hidden_capabilities.end()) {
                capabilities += (capabilities.empty() ? "" : " ") + cap;
            }
            start = end + 1;
        }
        capabilities = "protocol imap {\n  imap_capability = " + capabilities + "\n}\n";
    }
    // Unprivileged: every service runs as the one user that starts the master, so no chroot and no user
    // switches. Logins need no TLS on loopback (Dovecot counts 127.0.0.1 as secured).
    return "base_dir = " + d + "/run\n" + "state_dir = " + d + "/state\n" + "log_path = " + d + "/dovecot.log\n" +
           "protocols = imap lmtp\n"
           "listen = 127.0.0.1\n"
           "ssl = yes\n"
           "ssl_cert = <" +
           root + "/tls/cert.pem\n" + "ssl_key = <" + root + "/tls/key.pem\n" +
           "disable_plaintext_auth = no\n"
           "auth_mechanisms = plain login\n"
           "auth_failure_delay = 0\n"

           "default_login_user = dovecot\n"
           "default_internal_user = dovecot\n"
           "default_internal_group = dovecot\n"
           "first_valid_uid = 1\n"
           "mail_location = maildir:~/Maildir\n"
           // One passwd file per user: Dovecot reads a passwd file again at most once a second, but a file it
           // has never opened at once, so an account works from its first login.
           "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN " +
           d + "/users/%u\n}\n" + "userdb {\n  driver = static\n  args = uid=dovecot gid=dovecot home=" + d +
           "/home/%u\n}\n" + "service imap-login {\n  chroot =\n" +
           "  inet_listener imap {\n    address = 127.0.0.1\n    port = " + std::to_string(imap) + "\n  }\n" +
           "  inet_listener imaps {\n    address = 127.0.0.1\n    port = " + std::to_string(imaps) +
           "\n    ssl = yes\n  }\n}\n" +
           "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = " + std::to_string(lmtp) +
           "\n  }\n}\n" +
           "service auth {\n  inet_listener {\n    address = 127.0.0.1\n    port = " + std::to_string(auth) +
           "\n  }\n}\n" +
           "service auth-worker {\n  user = $default_internal_user\n}\n"
           // No growing delay after failed logins from one address (the auth penalty): tests fail logins on
           // purpose.
           "service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n" +
           capabilities;
}

std::string PostfixMainCf(const std::string& root, int lmtp, int auth) {
    const std::string p = root + "/postfix";
    return "compatibility_level = 3.6\n"
           "queue_directory = " +
           p + "/queue\n" + "data_directory = " + p + "/data\n" +
           "mail_owner = postfix\n"
           "setgid_group = postdrop\n"
           "myhostname = mail.example.test\n"
           "mydomain = example.test\n"
           "myorigin = example.test\n"
           "mydestination =\n"
           "inet_interfaces = 127.0.0.1\n"
           "inet_protocols = ipv4\n"
           "mynetworks = 127.0.0.1/32\n"
           "alias_maps =\n"
           "alias_database =\n"
           "local_recipient_maps =\n"
           "biff = no\n"
           "maillog_file = /dev/stdout\n"
           "virtual_mailbox_domains = example.test\n"
           "virtual_transport = lmtp:inet:127.0.0.1:" +
           std::to_string(lmtp) +
           "\n"
           // AUTH checked by Dovecot; nothing is relayed or delivered without it.
           "smtpd_sasl_auth_enable = yes\n"
           "smtpd_sasl_type = dovecot\n"
           "smtpd_sasl_path = inet:127.0.0.1:" +
           std::to_string(auth) +
           "\n"
           "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n"
           "smtpd_recipient_restrictions = permit_sasl_authenticated, reject\n"
           "smtpd_tls_security_level = may\n"
           "smtpd_tls_cert_file = " +
           root + "/tls/cert.pem\n" + "smtpd_tls_key_file = " + root + "/tls/key.pem\n";
}

std::string PostfixMasterCf(int smtp, int smtps) {
    // Debian's default services, none chrooted (the queue is in the temp folder), and two submission listeners.
    return "127.0.0.1:" + std::to_string(smtp) + " inet n - n - - smtpd\n" + "127.0.0.1:" + std::to_string(smtps) +
           " inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n" +
           "pickup    unix  n       -       n       60      1       pickup\n"
           "cleanup   unix  n       -       n       -       0       cleanup\n"
           "qmgr      unix  n       -       n       300     1       qmgr\n"
           "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n"
           "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
           "bounce    unix  -       -       n       -       0       bounce\n"
           "defer     unix  -       -       n       -       0       bounce\n"
           "trace     unix  -       -       n       -       0       bounce\n"
           "verify    unix  -       -       n       -       1       verify\n"
           "flush     unix  n       -       n       1000?   0       flush\n"
           "proxymap  unix  -       -       n       -       -       proxymap\n"
           "smtp      unix  -       -       n       -       -       smtp\n"
           "showq     unix  n       -       n       -       -       showq\n"
           "error     unix  -       -       n       -       -       error\n"
           "retry     unix  -       -       n       -       -       error\n"
           "discard   unix  -       -       n       -       -       discard\n"
           "lmtp      unix  -       -       n       -       -       lmtp\n"
           "anvil     unix  -       -       n       -       1       anvil\n"
           "scache    unix  -       -       n       -       1       scache\n"
           "postlog   unix-dgram n  -       n       -       1       postlogd\n";
}

std::string OpensslBinary() {
    for (const char* path : {"/usr/bin/openssl", "/bin/openssl"}) {
        if (access(path, X_OK) == 0) return path;
    }
    throw std::runtime_error(std::string("openssl not found. ") + kInstallHint);
}

struct CurlLines {
    std::vector<std::string> lines;
    static size_t OnLine(char* data, size_t size, size_t count, void* self) {
        std::string line(data, size * count);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        static_cast<CurlLines*>(self)->lines.push_back(std::move(line));
        return size * count;
    }
    static size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }
};

std::string Joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

MailServers& MailServers::Shared() {
    static MailServers servers;
    return servers;
}

MailServers::MailServers(Options options) : options_(std::move(options)) {
    if (geteuid() != 0) {
        throw std::runtime_error(
            "the mail test servers need root: Postfix's master starts as root and drops to the 'postfix' user "
            "(CI and the development machines run as root)");
    }
    for (const char* binary : {kDovecot, kPostfix, kPostfixMaster}) {
        if (access(binary, X_OK) != 0) throw std::runtime_error(std::string(binary) + " not found. " + kInstallHint);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::string tmpl = "/tmp/switchboard-mail-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed under /tmp");
    root_ = tmpl;
    try {
        Start();
    } catch (...) {
        Stop();
        throw;
    }
}

MailServers::~MailServers() { Stop(); }

void MailServers::Stop() {
    StopProcess(postfix_pid_);
    StopProcess(dovecot_pid_);
    if (!root_.empty()) {
        std::error_code ec;
        // SWITCHBOARD_KEEP_MAIL_DIR=1 keeps the configurations and logs for a look after a failure.
        if (getenv("SWITCHBOARD_KEEP_MAIL_DIR") == nullptr) fs::remove_all(root_, ec);
    }
}

void MailServers::Start() {
    const Account dovecot = SystemUser("dovecot");
    const Account postfix = SystemUser("postfix");
    fs::permissions(root_, fs::perms(0755));
    const fs::path root(root_);
    for (const char* dir : {"tls", "dovecot", "dovecot/run", "dovecot/state", "dovecot/home", "dovecot/users",
                            "postfix", "postfix/queue", "postfix/data"}) {
        fs::create_directories(root / dir);
    }
    for (const char* dir : {"dovecot", "dovecot/run", "dovecot/state", "dovecot/home", "dovecot/users"}) {
        Chown(root / dir, dovecot);
    }
    Chown(root / "postfix/data", postfix);

    const auto cert =
        RunCommand({OpensslBinary(), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", (root / "tls/key.pem").string(), "-out", (root / "tls/cert.pem").string(),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"},
                   {}, std::chrono::seconds(30));
    if (cert.exit_code != 0) throw std::runtime_error("openssl req failed:\n" + cert.out + cert.err);
    // A throw-away key that both servers read; nothing else on the machine trusts it.
    fs::permissions(root / "tls/key.pem", fs::perms(0644));
    certificate_pem_ = ReadFile(root / "tls/cert.pem");

    std::string failure;
    for (int attempt = 0; attempt < 5; ++attempt) {
        // Ports probed free can be taken before the servers bind them: then start again on others.
        imap_port_ = FreeLoopbackPort();
        imaps_port_ = FreeLoopbackPort();
        lmtp_port_ = FreeLoopbackPort();
        auth_port_ = FreeLoopbackPort();
        smtp_port_ = FreeLoopbackPort();
        smtps_port_ = FreeLoopbackPort();
        const std::vector<int> ports{imap_port_, imaps_port_, lmtp_port_, auth_port_, smtp_port_, smtps_port_};
        if (std::set<int>(ports.begin(), ports.end()).size() != ports.size()) continue;

        WriteFile(root / "dovecot/dovecot.conf",
                  DovecotConfig(root_, options_, imap_port_, imaps_port_, lmtp_port_, auth_port_));
        WriteFile(root / "postfix/main.cf", PostfixMainCf(root_, lmtp_port_, auth_port_));
        WriteFile(root / "postfix/master.cf", PostfixMasterCf(smtp_port_, smtps_port_));

        const auto deadline = Clock::now() + std::chrono::seconds(30);
        dovecot_pid_ = Spawn({kDovecot, "-F", "-c", (root / "dovecot/dovecot.conf").string()},
                             (root / "dovecot/stdout.log").string(), dovecot);
        std::string why;
        const bool dovecot_up = WaitForGreeting(imap_port_, "* OK", dovecot_pid_, deadline, why) &&
                                WaitForGreeting(lmtp_port_, "220", dovecot_pid_, deadline, why);
        if (!dovecot_up) {
            failure = "Dovecot did not start (" + why + "):\n" + Logs();
            StopProcess(dovecot_pid_);
            continue;
        }
        // `postfix check` creates the queue's folders with the owners Postfix insists on.
        const auto check =
            RunCommand({kPostfix, "-c", (root / "postfix").string(), "check"}, {}, std::chrono::seconds(30));
        if (check.exit_code != 0) throw std::runtime_error("postfix check failed:\n" + check.out + check.err);
        // The master itself in the foreground (not `postfix start-fg`, whose shell would stand between the test
        // and the master, so the master would outlive a crashed test).
        postfix_pid_ = Spawn({kPostfixMaster, "-c", (root / "postfix").string(), "-s"},
                             (root / "postfix/postfix.log").string(), std::nullopt);
        if (!WaitForGreeting(smtp_port_, "220", postfix_pid_, deadline, why)) {
            failure = "Postfix did not start (" + why + "):\n" + Logs();
            StopProcess(postfix_pid_);
            StopProcess(dovecot_pid_);
            continue;
        }
        return;
    }
    throw std::runtime_error(failure);
}

MailAccount MailServers::CreateAccount(const std::string& name) {
    std::lock_guard<std::mutex> lock(AccountMutex());
    std::string local;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c))) local += static_cast<char>(std::tolower(c));
    }
    if (local.empty()) local = "user";
    MailAccount account{local + "-" + std::to_string(++accounts_) + "@example.test", RandomPassword()};
    const fs::path file = fs::path(root_) / "dovecot/users" / account.address;
    WriteFile(file, account.address + ":{PLAIN}" + account.password + "::::::\n", fs::perms(0600));
    Chown(file, SystemUser("dovecot"));
    return account;
}

std::vector<std::string> MailServers::Imap(const MailAccount& account, const std::string& command,
                                           const std::string& mailbox) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
    CurlLines lines;
    std::string url = "imap://127.0.0.1:" + std::to_string(imap_port_) + "/";
    if (!mailbox.empty()) {
        char* escaped = curl_easy_escape(curl, mailbox.c_str(), static_cast<int>(mailbox.size()));
        url += escaped;
        curl_free(escaped);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, account.address.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, account.password.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, command.c_str());
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CurlLines::OnLine);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &lines);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CurlLines::Discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30'000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode code = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) {
        throw std::runtime_error("IMAP " + command + " failed (" + curl_easy_strerror(code) + "):\n" +
                                 Joined(lines.lines));
    }
    return lines.lines;
}

void MailServers::Append(const MailAccount& account, const std::string& mailbox, const std::string& raw_message,
                         bool seen) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
    CurlLines lines;
    char* escaped = curl_easy_escape(curl, mailbox.c_str(), static_cast<int>(mailbox.size()));
    const std::string url = "imap://127.0.0.1:" + std::to_string(imap_port_) + "/" + escaped;
    curl_free(escaped);
    struct Reader {
        const std::string* data;
        std::size_t offset = 0;
        static size_t Read(char* buffer, size_t size, size_t count, void* self) {
            auto* r = static_cast<Reader*>(self);
            const std::size_t n = std::min(size * count, r->data->size() - r->offset);
            std::copy_n(r->data->data() + r->offset, n, buffer);
            r->offset += n;
            return n;
        }
    } reader{&raw_message};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, account.address.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, account.password.c_str());
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Reader::Read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(raw_message.size()));
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CurlLines::OnLine);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &lines);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30'000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode code = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) {
        throw std::runtime_error("IMAP APPEND to " + mailbox + " failed (" + curl_easy_strerror(code) + "):\n" +
                                 Joined(lines.lines));
    }
    if (seen) return;
    // libcurl appends with the \Seen flag; a delivered message has none. The tagged OK names the new UID
    // ("[APPENDUID <uidvalidity> <uid>]", UIDPLUS).
    std::string uid;
    for (const auto& line : lines.lines) {
        const auto at = line.find("[APPENDUID ");
        if (at == std::string::npos) continue;
        const auto space = line.find(' ', at + 11);
        const auto close = line.find(']', at);
        if (space != std::string::npos && close != std::string::npos && space < close) {
            uid = line.substr(space + 1, close - space - 1);
        }
    }
    if (uid.empty()) throw std::runtime_error("IMAP APPEND named no UID:\n" + Joined(lines.lines));
    Imap(account, "UID STORE " + uid + " -FLAGS.SILENT (\\Seen)", mailbox);
}

std::string MailServers::Logs() const {
    return "--- dovecot.log\n" + ReadFile(root_ + "/dovecot/dovecot.log") + "--- dovecot stdout\n" +
           ReadFile(root_ + "/dovecot/stdout.log") + "--- postfix.log\n" + ReadFile(root_ + "/postfix/postfix.log");
}

}  // namespace switchboard::testing
