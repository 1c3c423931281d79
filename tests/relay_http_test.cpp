// The HTTP side of the real server: health check, static files of the web client with their types,
// caching and gzip twins, the client-side route fallback, and paths that must never escape or
// reveal hidden files. The only test file with an HTTP client (Beast is slow to compile).
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <filesystem>
#include <fstream>

#include "testing/relay_fixture.h"
#include "testing/server_process.h"

namespace cercle::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;  // 0: no answer within the timeout.
  http::fields headers;
  std::string body;
  std::string header(http::field f) const { return std::string(headers[f]); }
  std::string header(const char* name) const { return std::string(headers[name]); }
};

// One request on a fresh connection, 5 s at most. `target` is sent exactly as given.
Reply request(uint16_t port, http::verb method, const std::string& target,
              const std::vector<std::pair<http::field, std::string>>& fields = {},
              const std::vector<std::pair<std::string, std::string>>& named = {}) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [f, v] : fields) req.set(f, v);
  for (const auto& [f, v] : named) req.set(f, v);
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 << 20);
  if (method == http::verb::head) parser.skip(true);  // A HEAD answer has no body to read.
  Reply reply;
  stream.expires_after(5s);
  stream.async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](beast::error_code ec2, size_t) {
          if (ec2) return;
          http::async_read(stream, buffer, parser, [&](beast::error_code ec3, size_t) {
            if (ec3) return;
            const auto& res = parser.get();
            reply.status = res.result_int();
            reply.headers = res.base();
            reply.body = res.body();
          });
        });
      });
  ioc.run_for(6s);
  return reply;
}

Reply get(uint16_t port, const std::string& target,
          const std::vector<std::pair<http::field, std::string>>& fields = {}) {
  return request(port, http::verb::get, target, fields);
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

const std::string kIndex = "<!doctype html><title>Cercle</title>";
const std::string kAppJs = "console.log('cercle');";
const std::string kAppJsGz = std::string("\x1f\x8b\x08\x00gzipped-app", 15);
const std::string kSecret = "root:x:0:0:secret";

class RelayHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = dir_.path() + "/web";
    write_file(web_ + "/index.html", kIndex);
    write_file(web_ + "/assets/app.js", kAppJs);
    write_file(web_ + "/assets/app.js.gz", kAppJsGz);
    write_file(web_ + "/manifest.webmanifest", "{}");
    write_file(web_ + "/.hidden", kSecret);
    write_file(web_ + "/assets/.env", kSecret);
    write_file(dir_.path() + "/secret.txt", kSecret);  // Next to the web folder, not in it.
    std::string error;
    server_ = ServerProcess::start(dir_.path() + "/data", {"--web", web_}, &error);
    ASSERT_TRUE(server_) << error;
  }
  uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::string web_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RelayHttpTest, HealthzAnswersOk) {
  auto r = get(port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.header(http::field::content_type), "text/plain; charset=utf-8");
  EXPECT_EQ(r.header(http::field::cache_control), "no-store");
  auto head = request(port(), http::verb::head, "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(request(port(), http::verb::post, "/healthz").status, 405);
  // /ws is for WebSockets only.
  EXPECT_EQ(get(port(), "/ws").status, 426);
}

TEST_F(RelayHttpTest, StaticFilesAreServedWithTheirTypeAndCaching) {
  auto index = get(port(), "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.header(http::field::content_type), "text/html; charset=utf-8");
  EXPECT_EQ(index.header(http::field::cache_control), "no-cache");  // Must pick up new releases.
  EXPECT_EQ(index.header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(index.header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(get(port(), "/index.html").body, kIndex);

  auto js = get(port(), "/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, kAppJs);
  EXPECT_EQ(js.header(http::field::content_type), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.header(http::field::cache_control), "public, max-age=31536000, immutable");
  EXPECT_EQ(js.header(http::field::content_encoding), "");
  EXPECT_EQ(get(port(), "/assets/app.js?v=2#x").body, kAppJs);  // Query and fragment ignored.
  EXPECT_EQ(get(port(), "/manifest.webmanifest").header(http::field::content_type),
            "application/manifest+json");

  auto head = request(port(), http::verb::head, "/assets/app.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header(http::field::content_length), std::to_string(kAppJs.size()));
  EXPECT_EQ(head.body, "");
}

TEST_F(RelayHttpTest, ClientSideRoutesFallBackToIndexButMissingFilesAre404) {
  for (const char* route : {"/c/sometoken", "/c/some-token/", "/groupes", "/c/a/b/c"}) {
    auto r = get(port(), route);
    EXPECT_EQ(r.status, 200) << route;
    EXPECT_EQ(r.body, kIndex) << route;
    EXPECT_EQ(r.header(http::field::content_type), "text/html; charset=utf-8") << route;
  }
  // A name with an extension is a file: when it is missing it is a 404, not the app.
  for (const char* missing : {"/missing.js", "/assets/other.css", "/favicon.ico"}) {
    EXPECT_EQ(get(port(), missing).status, 404) << missing;
  }
}

TEST_F(RelayHttpTest, PathsCannotEscapeTheWebFolderNorRevealHiddenFiles) {
  for (const char* target :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
        "/assets/..%2f..%2fsecret.txt", "/%2E%2E%2Fsecret.txt", "/.hidden", "/assets/.env",
        "/%2ehidden", "/c/..", "/assets/app.js%00.html", "/..\\secret.txt"}) {
    auto r = get(port(), target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << target;
  }
  // The server is still fine.
  EXPECT_EQ(get(port(), "/healthz").status, 200);
}

TEST_F(RelayHttpTest, GzipTwinsAreServedWhenTheClientAcceptsGzip) {
  auto gz = get(port(), "/assets/app.js", {{http::field::accept_encoding, "gzip, deflate, br"}});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(gz.body, kAppJsGz);
  EXPECT_EQ(gz.header(http::field::content_encoding), "gzip");
  EXPECT_EQ(gz.header(http::field::content_type), "text/javascript; charset=utf-8");
  EXPECT_EQ(gz.header(http::field::vary), "Accept-Encoding");
  // No twin: the plain file, whatever the client accepts.
  auto plain = get(port(), "/index.html", {{http::field::accept_encoding, "gzip"}});
  EXPECT_EQ(plain.body, kIndex);
  EXPECT_EQ(plain.header(http::field::content_encoding), "");
  for (const char* accept : {"identity", "br, deflate"}) {
    auto r = get(port(), "/assets/app.js", {{http::field::accept_encoding, accept}});
    EXPECT_EQ(r.body, kAppJs) << accept;
    EXPECT_EQ(r.header(http::field::content_encoding), "") << accept;
  }
}

TEST_F(RelayHttpTest, GzipIsNotServedWhenTheClientRefusesItWithQZero) {
  // RFC 9110 12.5.3: "gzip;q=0" means gzip is not acceptable.
  auto r = get(port(), "/assets/app.js", {{http::field::accept_encoding, "gzip;q=0, identity"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header(http::field::content_encoding), "");
  EXPECT_EQ(r.body, kAppJs);
}

TEST_F(RelayHttpTest, ReadyzSaysTheServerServes) {
  auto r = get(port(), "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
}

class RelayMetricsTest : public RelayFixture {};

TEST_F(RelayMetricsTest, MetricsCountWithoutNamingAnyone) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  TestDevice a, b;
  ASSERT_NO_FATAL_FAILURE(register_device("Clementine-Secrete", &a));
  ASSERT_NO_FATAL_FAILURE(register_device("bob", &b));
  std::string conv;
  ASSERT_NO_FATAL_FAILURE(make_group({&a, &b}, &conv));
  ASSERT_NO_FATAL_FAILURE(say(a, conv, 1, "un message"));
  ASSERT_TRUE(b.ws->next_delivery());
  auto r = get(server_->port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  for (const char* sample :
       {"cercle_websockets 2\n", "cercle_sessions_authenticated 2\n", "cercle_messages_total 1\n",
        "cercle_commits_total 1\n", "cercle_accounts 2\n", "cercle_conversations 1\n",
        "cercle_delivery_lag_seconds_count 2\n", "# TYPE cercle_deliveries_live_total counter"}) {
    EXPECT_NE(r.body.find(sample), std::string::npos) << sample << "\n" << r.body;
  }
  // Counts only: no handle, no conversation id, no content.
  EXPECT_EQ(r.body.find("Clementine"), std::string::npos);
  EXPECT_EQ(r.body.find("un message"), std::string::npos);
  std::string hex;
  for (unsigned char ch : conv.substr(0, 4)) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[ch >> 4];
    hex += kHex[ch & 15];
  }
  EXPECT_EQ(r.body.find(hex), std::string::npos);
}

TEST(RelayHttpProxyTest, BehindATrustedProxyMetricsAnswerOnlyLocalClients) {
  TempDir dir;
  const std::string config = dir.path() + "/cercle.toml";
  std::ofstream(config) << "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n";
  std::string error;
  auto server = ServerProcess::start(dir.path() + "/data", {"--config", config}, &error);
  ASSERT_TRUE(server) << error;
  auto via_proxy = [&](const std::string& client) {
    return request(server->port(), http::verb::get, "/metrics", {}, {{"X-Forwarded-For", client}})
        .status;
  };
  EXPECT_EQ(via_proxy("203.0.113.5"), 404);             // A remote client, forwarded by the proxy.
  EXPECT_EQ(via_proxy("203.0.113.5, 127.0.0.1"), 200);  // The proxy says: from this machine.
  EXPECT_EQ(get(server->port(), "/metrics").status, 200);

  // Without trusted proxies the header is anyone's claim, and ignored.
  TempDir other;
  auto plain = ServerProcess::start(other.path() + "/data", {}, &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(
      request(plain->port(), http::verb::get, "/metrics", {}, {{"X-Forwarded-For", "203.0.113.5"}})
          .status,
      200);
}

TEST(RelayHttpNoWebTest, WithoutAWebFolderOnlyTheApiIsServed) {
  TempDir dir;
  std::string error;
  auto server = ServerProcess::start(dir.path() + "/data", {}, &error);
  ASSERT_TRUE(server) << error;
  EXPECT_EQ(get(server->port(), "/healthz").status, 200);
  EXPECT_EQ(get(server->port(), "/").status, 404);
  EXPECT_EQ(get(server->port(), "/c/sometoken").status, 404);
}

}  // namespace
}  // namespace cercle::testing
