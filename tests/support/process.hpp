#pragma once
// Runs the switchboard binary (or any program) as a child process for integration tests: arguments,
// extra environment, stdout/stderr captured to files, and signals.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::testing {

// Path of the switchboard binary under test (set by CMake).
std::string SwitchboardBinary();

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs to completion (bounded by timeout; killed after it). stdin gets `input`.
RunResult RunCommand(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(60), const std::string& input = "");

class Process {
  public:
    Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& log_dir);
    ~Process();  // SIGKILL if still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // Waits until stdout contains `needle`; returns the stdout so far, or nullopt on timeout/exit.
    std::optional<std::string> WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout);
    void Signal(int sig);
    // Waits for exit; returns the exit code (128+signal when killed), or nullopt on timeout.
    std::optional<int> Wait(std::chrono::milliseconds timeout);
    std::string Stdout() const;
    std::string Stderr() const;
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string out_path_, err_path_;
};

// A running `switchboard serve --listen 127.0.0.1:0` with its port parsed from the "listening on" line.
struct ServerProcess {
    std::unique_ptr<Process> process;
    int port = 0;
    std::string first_start_token;  // the one-time token printed on first start, if any
};
ServerProcess StartServer(const std::vector<std::string>& extra_args, const std::map<std::string, std::string>& env,
                          const std::string& log_dir);

}  // namespace switchboard::testing
