#include "client/sdk/local_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cercle::client {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "cercle-store";
constexpr uint8_t kFormatVersion = 1;
constexpr std::string_view kCheckName("\0check", 6);  // No value name starts with NUL.
constexpr std::string_view kCheckValue = "cercle local store v1";
constexpr size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

Error storage(std::string what) { return make_error(Errc::kStorage, std::move(what)); }

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return storage("cannot read " + path.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `data` to `path` durably: a temporary file, fsync, rename, fsync of the folder.
Status write_file_atomic(const fs::path& path, std::string_view data) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return storage("cannot write " + tmp.string());
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return storage("cannot write " + path.string());
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Ok{};
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(std::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// Header: magic, version, salt, opslimit (u32), memlimit in KiB (u32), sealed check value.
struct Header {
  std::string salt;
  uint32_t opslimit = 0;
  uint32_t memlimit_kib = 0;
  std::string check;
};

std::string encode_header(const Header& h) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kFormatVersion));
  out += h.salt;
  put_u32(out, h.opslimit);
  put_u32(out, h.memlimit_kib);
  out += h.check;
  return out;
}

Result<Header> decode_header(std::string_view in) {
  const size_t fixed = kMagic.size() + 1 + crypto_pwhash_SALTBYTES + 8;
  if (in.size() <= fixed || in.substr(0, kMagic.size()) != kMagic)
    return storage("not a Cercle store");
  if (static_cast<uint8_t>(in[kMagic.size()]) != kFormatVersion) {
    return storage("this store was written by a newer version of Cercle");
  }
  Header h;
  size_t at = kMagic.size() + 1;
  h.salt = std::string(in.substr(at, crypto_pwhash_SALTBYTES));
  at += crypto_pwhash_SALTBYTES;
  h.opslimit = get_u32(in.substr(at));
  h.memlimit_kib = get_u32(in.substr(at + 4));
  h.check = std::string(in.substr(at + 8));
  return h;
}

Result<std::string> derive(std::string_view passphrase, const Header& h) {
  std::string key(kKeyBytes, '\0');
  if (crypto_pwhash(reinterpret_cast<unsigned char*>(key.data()), key.size(), passphrase.data(),
                    passphrase.size(), reinterpret_cast<const unsigned char*>(h.salt.data()),
                    h.opslimit, size_t{h.memlimit_kib} * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return storage("not enough memory to derive the store key");
  }
  return key;
}

}  // namespace

std::string encode_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

LocalStore::LocalStore(std::string dir, std::string key)
    : dir_(std::move(dir)), key_(std::move(key)) {}

LocalStore::~LocalStore() {
  sodium_memzero(key_.data(), key_.size());
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status LocalStore::lock() {
  // Two processes on one store would both advance the same MLS ratchets: one at a time.
  lock_fd_ = ::open((fs::path(dir_) / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return storage("the local store is in use by another Cercle program");
  }
  return Ok{};
}

Result<std::unique_ptr<LocalStore>> LocalStore::open(const std::string& dir,
                                                     std::string_view passphrase) {
  if (sodium_init() < 0) return storage("libsodium failed to initialise");
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "blobs", ec);
  fs::create_directories(fs::path(dir) / "logs", ec);
  if (ec) return storage("cannot create " + dir + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  const fs::path header_path = fs::path(dir) / "header";
  if (!fs::exists(header_path)) {
    Header h;
    h.salt.resize(crypto_pwhash_SALTBYTES);
    randombytes_buf(h.salt.data(), h.salt.size());
    h.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    h.memlimit_kib = crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024;
    auto key = derive(passphrase, h);
    if (!key) return std::move(key).error();
    std::unique_ptr<LocalStore> store(new LocalStore(dir, std::move(*key)));
    if (auto s = store->lock(); !s) return std::move(s).error();
    h.check = store->seal(kCheckName, kCheckValue);
    if (auto s = write_file_atomic(header_path, encode_header(h)); !s) return std::move(s).error();
    return store;
  }
  auto raw = read_file(header_path);
  if (!raw) return std::move(raw).error();
  auto header = decode_header(*raw);
  if (!header) return std::move(header).error();
  auto key = derive(passphrase, *header);
  if (!key) return std::move(key).error();
  std::unique_ptr<LocalStore> store(new LocalStore(dir, std::move(*key)));
  if (auto s = store->lock(); !s) return std::move(s).error();
  auto check = store->open_sealed(kCheckName, header->check);
  if (!check || *check != kCheckValue) {
    return make_error(Errc::kBadPassphrase, "this passphrase does not open the local store");
  }
  return store;
}

std::string LocalStore::seal(std::string_view name, std::string_view plaintext) const {
  std::string out(kNonceBytes + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceBytes, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(name.data()), name.size(), nullptr,
      nonce, reinterpret_cast<const unsigned char*>(key_.data()));
  return out;
}

Result<std::string> LocalStore::open_sealed(std::string_view name, std::string_view sealed) const {
  if (sealed.size() < kNonceBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return storage("a stored value is truncated");
  }
  std::string out(sealed.size() - kNonceBytes - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long len = 0;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &len, nullptr, nonce + kNonceBytes,
          sealed.size() - kNonceBytes, reinterpret_cast<const unsigned char*>(name.data()),
          name.size(), nonce, reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return storage("a stored value does not open: tampered or damaged");
  }
  return out;
}

Result<std::optional<std::string>> LocalStore::get(std::string_view name) const {
  const fs::path path = fs::path(dir_) / "blobs" / encode_name(name);
  if (!fs::exists(path)) return std::optional<std::string>();
  auto raw = read_file(path);
  if (!raw) return std::move(raw).error();
  auto value = open_sealed(name, *raw);
  if (!value) return std::move(value).error();
  return std::optional<std::string>(std::move(*value));
}

Status LocalStore::put(std::string_view name, std::string_view value) {
  return write_file_atomic(fs::path(dir_) / "blobs" / encode_name(name), seal(name, value));
}

Status LocalStore::remove(std::string_view name) {
  std::error_code ec;
  fs::remove(fs::path(dir_) / "blobs" / encode_name(name), ec);
  if (ec) return storage("cannot remove a stored value");
  return Ok{};
}

std::vector<std::string> LocalStore::list(std::string_view prefix) const {
  std::vector<std::string> out;
  const std::string encoded = encode_name(prefix);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "blobs", ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind(encoded, 0) != 0 || file.ends_with(".tmp")) continue;
    std::string name;
    for (size_t i = 0; i < file.size(); ++i) {
      if (file[i] == '%' && i + 2 < file.size()) {
        name.push_back(static_cast<char>(std::stoi(file.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        name.push_back(file[i]);
      }
    }
    out.push_back(std::move(name));
  }
  return out;
}

Status LocalStore::append(std::string_view name, std::string_view record) {
  const fs::path path = fs::path(dir_) / "logs" / encode_name(name);
  std::string framed;
  const std::string sealed = seal(name, record);
  put_u32(framed, static_cast<uint32_t>(sealed.size()));
  framed += sealed;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return storage("cannot append to " + path.string());
  const bool ok = ::write(fd, framed.data(), framed.size()) == static_cast<ssize_t>(framed.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || !synced) return storage("cannot append to " + path.string());
  return Ok{};
}

Result<std::vector<std::string>> LocalStore::read_log(std::string_view name) const {
  std::vector<std::string> out;
  const fs::path path = fs::path(dir_) / "logs" / encode_name(name);
  if (!fs::exists(path)) return out;
  auto raw = read_file(path);
  if (!raw) return std::move(raw).error();
  std::string_view rest = *raw;
  while (rest.size() >= 4) {
    const uint32_t len = get_u32(rest);
    // A torn last record (a crash during append) is ignored; anything else is damage.
    if (rest.size() < 4 + size_t{len}) break;
    auto record = open_sealed(name, rest.substr(4, len));
    if (!record) return std::move(record).error();
    out.push_back(std::move(*record));
    rest.remove_prefix(4 + len);
  }
  return out;
}

Status LocalStore::rewrite_log(std::string_view name, const std::vector<std::string>& records) {
  std::string data;
  for (const auto& r : records) {
    const std::string sealed = seal(name, r);
    put_u32(data, static_cast<uint32_t>(sealed.size()));
    data += sealed;
  }
  return write_file_atomic(fs::path(dir_) / "logs" / encode_name(name), data);
}

}  // namespace cercle::client
