// ServerProcess: runs the real cercle-server binary for integration tests, on 127.0.0.1 port 0 with
// a temporary data folder, and stops it. Every wait is bounded. One test thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cercle::testing {

// A temporary folder removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // Starts cercle-server with `--listen 127.0.0.1:0 --data data_dir` plus `args`, and waits (10 s
  // at most) for its "listening on" line. Returns nullptr when it does not start; `error` says why.
  static std::unique_ptr<ServerProcess> start(const std::string& data_dir,
                                              const std::vector<std::string>& args,
                                              std::string* error = nullptr);
  ~ServerProcess();  // SIGKILL if still running.

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits up to `timeout`. Returns the exit status, or -1 if it did not exit
  // (it is then killed).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends SIGKILL and reaps it.
  void kill9();
  // Everything the server wrote on stderr so far.
  std::string log() const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_path_;
  int stdout_fd_ = -1;
};

// Runs `cercle-admin --data data_dir ARGS...` and returns its stdout; `status` receives the exit
// status. It talks to a running server through its admin socket, or opens the stopped data folder.
std::string run_admin(const std::string& data_dir, const std::vector<std::string>& args,
                      int* status = nullptr);

// What a command printed and how it ended.
struct CommandRun {
  int status = -1;  // Its exit status; -1 when it did not exit normally or did not start.
  std::string out, err;
};

// Runs `command` through the shell: its stdout and exit status (-1 when it did not start or did
// not exit normally); `err` stays empty.
CommandRun run_shell(const std::string& command);

// Runs `command` through the shell, its stderr sent to the file `err_file` (rewritten), and
// returns its stdout, its stderr and its exit status apart.
CommandRun run_command(const std::string& command, const std::string& err_file);

}  // namespace cercle::testing
