#pragma once
// Real mail servers for tests, from Debian's packages: Dovecot (IMAP, plus LMTP delivery and the SASL service
// Postfix asks) and Postfix (SMTP submission that requires AUTH and delivers over LMTP into Dovecot), on free
// 127.0.0.1 ports, with a throw-away configuration, self-signed TLS certificate and maildirs in a temp folder.
// The destructor stops both and removes the folder; every server process also dies with the test binary
// (PR_SET_PDEATHSIG), so a crashed test leaves nothing running.
//
// Privileges: Postfix's master must start as root (it drops to the 'postfix' user for everything it does), so
// the fixture needs root, as CI and the development machines have. Dovecot runs unprivileged: as the 'dovecot'
// system user (created by the dovecot-core package). Packages: dovecot-imapd dovecot-lmtpd postfix openssl
// (scripts/install-deps.sh test installs them without starting their system services).
//
// One pair of servers per test binary is enough: MailServers::Shared() starts on first use and stops at exit.
// Tests stay independent by creating their own accounts (CreateAccount), each with an empty mailbox.
#include <string>
#include <vector>

namespace switchboard::testing {

struct MailAccount {
    std::string address;   // "<name>-<n>@example.test": the IMAP login, the SMTP AUTH username and the mailbox
    std::string password;  // random letters and digits
};

class MailServers {
  public:
    struct Options {
        // Capabilities Dovecot leaves out of its post-login list ("MOVE", "ESEARCH"), so that clients take their
        // fallback paths. The commands themselves keep working.
        std::vector<std::string> hidden_capabilities;
    };

    static MailServers& Shared();
    // Throws std::runtime_error (with the servers' logs) when a server is missing or does not come up in 30 s.
    explicit MailServers(Options options = {});
    ~MailServers();
    MailServers(const MailServers&) = delete;
    MailServers& operator=(const MailServers&) = delete;

    // A new user of both servers, usable at once (its own passwd file, which Dovecot reads on the first login).
    MailAccount CreateAccount(const std::string& name = "user");

    static constexpr const char* kHost = "127.0.0.1";
    int imap_port() const { return imap_port_; }    // IMAP; STARTTLS offered, plaintext login allowed
    int imaps_port() const { return imaps_port_; }  // IMAP over implicit TLS
    int smtp_port() const { return smtp_port_; }    // SMTP; STARTTLS offered; relaying only after AUTH
    int smtps_port() const { return smtps_port_; }  // SMTP over implicit TLS
    // The servers' self-signed certificate (CN localhost, subjectAltName IP:127.0.0.1 and DNS:localhost).
    const std::string& certificate_pem() const { return certificate_pem_; }

    // Test setup over IMAP (libcurl, plaintext, imap_port): `command` with `mailbox` selected ("" = none);
    // returns every response line. Throws std::runtime_error with the lines when the server refuses.
    std::vector<std::string> Imap(const MailAccount& account, const std::string& command,
                                  const std::string& mailbox = "");
    // IMAP APPEND of a raw message (CRLF line ends) to `mailbox`, unread unless `seen`.
    void Append(const MailAccount& account, const std::string& mailbox, const std::string& raw_message,
                bool seen = false);

    // Dovecot's and Postfix's logs so far, for failure messages and for scanning them for leaked secrets.
    std::string Logs() const;

  private:
    void Start();
    void Stop();

    Options options_;
    std::string root_;
    int imap_port_ = 0, imaps_port_ = 0, lmtp_port_ = 0, auth_port_ = 0, smtp_port_ = 0, smtps_port_ = 0;
    int dovecot_pid_ = -1, postfix_pid_ = -1;
    std::string certificate_pem_;
    int accounts_ = 0;
};

}  // namespace switchboard::testing
