#include "server/push/vapid.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "server/common/log.h"
#include "server/push/base64url.h"

namespace cercle::push {
namespace {

namespace fs = std::filesystem;

// Whether `text` can sit inside a JSON string as it is.
bool plain_json(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

Error file_error(const fs::path& file, const std::string& why) {
  return make_error(Errc::kInvalidArgument, "VAPID key " + file.string() + ": " + why);
}

// Writes `data` to `file` through a temporary file in the same folder, renamed over it once
// synced, so that a crash leaves either no key or a whole one. Mode 0600.
Status write_atomically(const fs::path& file, const std::string& data) {
  std::string tmp = file.string() + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // Created 0600.
  if (fd < 0) return file_error(file, std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool written = done == data.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return file_error(file, "cannot write: " + why);
  }
  const int dir =
      ::open(file.parent_path().empty() ? "." : file.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);  // Makes the rename itself durable.
    ::close(dir);
  }
  return Ok{};
}

Result<VapidKey> load(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    log::warn("push.vapid_key_mode", {{"detail", "readable by others; chmod 600 it"}});
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream pem;
  pem << in.rdbuf();
  if (!in) return file_error(file, "cannot read");
  auto key = P256Key::from_pem(pem.str());
  if (!key) return file_error(file, key.error().message);
  return VapidKey(std::move(*key));
}

}  // namespace

bool valid_subject(std::string_view subject) {
  const bool scheme = subject.starts_with("mailto:") || subject.starts_with("https://");
  return scheme && subject.size() <= 256 && subject.size() > 8 && plain_json(subject);
}

Result<VapidKey> VapidKey::load_or_create(const fs::path& file) {
  std::error_code ec;
  if (fs::exists(file, ec)) return load(file);
  if (ec) return file_error(file, ec.message());
  auto made = generate();
  if (!made) return made;
  auto pem = made->key().to_pem();
  if (!pem) return std::move(pem).error();
  const Status written = write_atomically(file, *pem);
  std::fill(pem->begin(), pem->end(), '\0');
  if (!written) return written.error();
  log::info("push.vapid_key_created");
  return made;
}

Result<VapidKey> VapidKey::generate() {
  auto key = P256Key::generate();
  if (!key) return std::move(key).error();
  return VapidKey(std::move(*key));
}

std::string VapidKey::public_key_text() const { return base64url_encode(public_key()); }

Result<std::string> VapidKey::authorization(std::string_view audience, std::string_view subject,
                                            int64_t expires) const {
  if (!valid_subject(subject)) return make_error(Errc::kInvalidArgument, "bad VAPID subject");
  if (audience.empty() || !plain_json(audience)) {
    return make_error(Errc::kInvalidArgument, "bad VAPID audience");
  }
  const std::string header = base64url_encode(R"({"typ":"JWT","alg":"ES256"})");
  const std::string claims =
      base64url_encode(R"({"aud":")" + std::string(audience) + R"(","exp":)" +
                       std::to_string(expires) + R"(,"sub":")" + std::string(subject) + R"("})");
  const std::string signing_input = header + "." + claims;
  auto signature = es256_sign(key_, signing_input);
  if (!signature) return std::move(signature).error();
  return "vapid t=" + signing_input + "." + base64url_encode(*signature) +
         ", k=" + public_key_text();
}

}  // namespace cercle::push
