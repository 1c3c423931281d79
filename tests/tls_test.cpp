// TLS against the real server: WSS with a test certificate, verified by the SDK, and a certificate
// reload on SIGHUP that keeps open connections.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "client/sdk/client.h"
#include "testing/server_process.h"

namespace cercle::testing {
namespace {

using client::Client;

// Makes a self-signed certificate for localhost / 127.0.0.1 with the openssl command.
bool make_certificate(const std::string& cert, const std::string& key) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = dir_.path() + "/server.pem";
    key_ = dir_.path() + "/server.key";
    first_ca_ = dir_.path() + "/first.pem";
    second_ca_ = dir_.path() + "/second.pem";
    ASSERT_TRUE(make_certificate(cert_, key_));
    std::filesystem::copy_file(cert_, first_ca_);
    std::string error;
    server_ = ServerProcess::start(
        dir_.path() + "/data",
        {"--registration", "open", "--tls-certificate", cert_, "--tls-key", key_}, &error);
    ASSERT_TRUE(server_) << error;
  }

  std::unique_ptr<Client> client(const std::string& name, const std::string& ca) {
    client::Options o;
    o.server_url = "wss://localhost:" + std::to_string(server_->port()) + "/ws";
    o.data_dir = dir_.path() + "/" + name;
    o.passphrase = "pw";
    o.ca_file = ca;
    o.timeout = std::chrono::seconds(5);
    auto c = Client::open(o);
    if (!c) return nullptr;
    if (!(*c)->connect()) return nullptr;
    if (!(*c)->registered() && !(*c)->register_account(name)) return nullptr;
    return std::move(*c);
  }

  static bool receive(Client& c, const std::string& text) {
    for (int i = 0; i < 50; ++i) {
      auto events = c.poll(std::chrono::milliseconds(100));
      if (!events) return false;
      for (const auto& e : *events) {
        if (e.kind == client::Event::Kind::kMessage && e.message.text == text) return true;
      }
    }
    return false;
  }

  TempDir dir_;
  std::string cert_, key_, first_ca_, second_ca_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TlsTest, ClientsTalkOverVerifiedTls) {
  auto alice = client("alice", first_ca_);
  auto bob = client("bob", first_ca_);
  ASSERT_TRUE(alice && bob);
  auto conv = alice->start_direct("bob");
  ASSERT_TRUE(conv.ok()) << conv.error().message;
  ASSERT_TRUE(alice->send_text(*conv, "par TLS").ok());
  EXPECT_TRUE(receive(*bob, "par TLS"));

  // A certificate the client does not trust is refused; plain WebSocket is not served.
  const std::string other_cert = dir_.path() + "/other.pem", other_key = dir_.path() + "/other.key";
  ASSERT_TRUE(make_certificate(other_cert, other_key));
  EXPECT_FALSE(client("carol", other_cert));
  client::Options plain;
  plain.server_url = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws";
  plain.data_dir = dir_.path() + "/dave";
  plain.passphrase = "pw";
  plain.timeout = std::chrono::seconds(3);
  auto dave = Client::open(plain);
  ASSERT_TRUE(dave.ok());
  EXPECT_FALSE((*dave)->connect().ok());
}

TEST_F(TlsTest, ReloadingTheCertificateOnSighupKeepsOpenConnections) {
  auto alice = client("alice", first_ca_);
  auto bob = client("bob", first_ca_);
  ASSERT_TRUE(alice && bob);
  auto conv = alice->start_direct("bob");
  ASSERT_TRUE(conv.ok());

  // A renewed certificate replaces the files, then the server is told to reload.
  ASSERT_TRUE(make_certificate(cert_ + ".new", key_ + ".new"));
  std::filesystem::rename(cert_ + ".new", cert_);
  std::filesystem::rename(key_ + ".new", key_);
  std::filesystem::copy_file(cert_, second_ca_);
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && server_->log().find("tls.reloaded") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(server_->log().find("tls.reloaded"), std::string::npos) << server_->log();

  // Open connections go on with their session.
  ASSERT_TRUE(alice->send_text(*conv, "après le renouvellement").ok());
  EXPECT_TRUE(receive(*bob, "après le renouvellement"));
  // New connections get the new certificate: trusted with the new one, refused with the old.
  EXPECT_TRUE(client("carol", second_ca_));
  EXPECT_FALSE(client("dave", first_ca_));
}

}  // namespace
}  // namespace cercle::testing
