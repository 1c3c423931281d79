#include "testing/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

extern char** environ;

namespace cercle::testing {

namespace {

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Waits for the child to exit, up to `timeout`. Returns its status, or -1.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 || std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cercle-test-XXXXXX").string();
  path_ = mkdtemp(pattern.data()) ? pattern : std::string();
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<ServerProcess> ServerProcess::start(const std::string& data_dir,
                                                    const std::vector<std::string>& extra,
                                                    std::string* error) {
  auto fail = [&](std::string why) -> std::unique_ptr<ServerProcess> {
    if (error) *error = std::move(why);
    return nullptr;
  };
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  p->log_path_ = data_dir + ".log";
  int out[2];
  if (pipe(out) != 0) return fail("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, p->log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> args = {CERCLE_SERVER_BIN, "--listen", "127.0.0.1:0", "--data",
                                   data_dir};
  // For profiling: CERCLE_SERVER_WRAPPER="heaptrack -o /tmp/h" runs the server under a tool.
  if (const char* wrapper = std::getenv("CERCLE_SERVER_WRAPPER"); wrapper && *wrapper) {
    std::istringstream words(wrapper);
    std::vector<std::string> prefix{std::istream_iterator<std::string>(words), {}};
    args.insert(args.begin(), prefix.begin(), prefix.end());
  }
  args.insert(args.end(), extra.begin(), extra.end());
  auto argv = argv_of(args);
  const int rc = posix_spawnp(&p->pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return fail("posix_spawn failed");
  }
  // Read stdout until the "listening on HOST:PORT" line, 10 s at most. A wrapper may print first.
  std::string text;
  size_t line_at = std::string::npos;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    line_at = text.find("listening on ");
    if (line_at != std::string::npos && text.find('\n', line_at) != std::string::npos) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{out[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[256];
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  p->stdout_fd_ = out[0];  // Kept open: a wrapper may print more at exit.
  if (line_at == std::string::npos) {
    return fail("the server did not start: stdout=\"" + text + "\" log=\"" + p->log() + "\"");
  }
  const auto colon = text.find('\n', line_at);
  const std::string line = text.substr(line_at, colon - line_at);
  p->port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
  return p;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill9();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

int ServerProcess::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const int status = wait_exit(pid_, timeout);
  if (status < 0) {
    kill9();
    return -1;
  }
  pid_ = -1;
  return status;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string run_admin(const std::string& data_dir, const std::vector<std::string>& admin_args,
                      int* status) {
  std::string command = std::string(CERCLE_ADMIN_BIN) + " --data '" + data_dir + "'";
  for (const auto& a : admin_args) command += " '" + a + "'";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  if (!pipe) return out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

CommandRun run_shell(const std::string& command) {
  CommandRun r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int rc = pclose(pipe);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

CommandRun run_command(const std::string& command, const std::string& err_file) {
  CommandRun r = run_shell(command + " 2>'" + err_file + "'");
  char buf[512];
  size_t n;
  FILE* err = fopen(err_file.c_str(), "r");
  while (err && (n = fread(buf, 1, sizeof buf, err)) > 0) r.err.append(buf, n);
  if (err) fclose(err);
  return r;
}

}  // namespace cercle::testing
