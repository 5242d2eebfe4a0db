#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"

namespace switchboard::testing {

std::string SwitchboardBinary() { return SWITCHBOARD_TEST_BINARY; }

namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path, const std::string& in_path) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // Die with the test: a crashed test binary must not leave servers running.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int in = in_path.empty() ? open("/dev/null", O_RDONLY) : open(in_path.c_str(), O_RDONLY);
        int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        setpgid(0, 0);
        for (const auto& [k, v] : env) {
            if (v.empty()) {
                unsetenv(k.c_str());
            } else {
                setenv(k.c_str(), v.c_str(), 1);
            }
        }
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

int DecodeStatus(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

RunResult RunCommand(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout, const std::string& input) {
    TempDir dir;
    std::string in_path;
    if (!input.empty()) {
        in_path = dir.file("stdin");
        FILE* f = fopen(in_path.c_str(), "w");
        fwrite(input.data(), 1, input.size(), f);
        fclose(f);
    }
    pid_t pid = Spawn(args, env, dir.file("out"), dir.file("err"), in_path);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    RunResult r;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            r.exit_code = DecodeStatus(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r.exit_code = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.out = ReadFile(dir.file("out"));
    r.err = ReadFile(dir.file("err"));
    return r;
}

Process::Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                 const std::string& log_dir) {
    static int counter = 0;
    const std::string base = log_dir + "/proc" + std::to_string(++counter);
    out_path_ = base + ".out";
    err_path_ = base + ".err";
    pid_ = Spawn(args, env, out_path_, err_path_, "");
}

Process::~Process() {
    if (!status_) {
        kill(pid_, SIGKILL);
        int st = 0;
        waitpid(pid_, &st, 0);
    }
}

std::optional<std::string> Process::WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::string out = Stdout();
        if (out.find(needle) != std::string::npos) return out;
        int st = 0;
        if (!status_ && waitpid(pid_, &st, WNOHANG) == pid_) status_ = DecodeStatus(st);
        if (status_) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

void Process::Signal(int sig) {
    if (!status_) kill(pid_, sig);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
        int st = 0;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = DecodeStatus(st);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
}

std::string Process::Stdout() const { return ReadFile(out_path_); }
std::string Process::Stderr() const { return ReadFile(err_path_); }

ServerProcess StartServer(const std::vector<std::string>& extra_args, const std::map<std::string, std::string>& env,
                          const std::string& log_dir) {
    std::vector<std::string> args{SwitchboardBinary(), "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    ServerProcess s;
    s.process = std::make_unique<Process>(args, env, log_dir);
    auto out = s.process->WaitForOutput("Switchboard listening on", std::chrono::seconds(30));
    if (!out) {
        throw std::runtime_error("server did not start; stdout:\n" + s.process->Stdout() + "\nstderr:\n" +
                                 s.process->Stderr());
    }
    std::smatch m;
    static const std::regex port_re(R"(listening on http://[^\s]+:(\d+))");
    // The token line may be printed before the listening line; wait for the full line with the port.
    for (int i = 0; i < 100 && !std::regex_search(*out, m, port_re); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        *out = s.process->Stdout();
    }
    if (!std::regex_search(*out, m, port_re)) throw std::runtime_error("no port in: " + *out);
    s.port = std::stoi(m[1]);
    static const std::regex token_re(R"(\n  (sbt_[A-Za-z0-9_\-]+)\n)");
    if (std::regex_search(*out, m, token_re)) s.first_start_token = m[1];
    return s;
}

}  // namespace switchboard::testing
