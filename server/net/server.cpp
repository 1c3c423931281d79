#include "server/net/server.h"

#include <boost/asio/post.hpp>

#include <csignal>

#include "server/common/log.h"
#include "server/common/metrics.h"
#include "server/net/http_session.h"
#include "server/net/peer.h"
#include "server/net/tls.h"

namespace cercle::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr int kShutdownTicks = 150;  // 20 ms each: 3 s for clients to answer the close frames.

}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      hub_(config_.api, config_.rates, clock_),
      ctx_{ioc_, config_, hub_, {}, 0, 0, false, {}, {}, {}, {}, 0, {}},
      acceptor_(ioc_),
      signals_(ioc_, SIGTERM, SIGINT),
      reload_signal_(ioc_, SIGHUP),
      flush_timer_(ioc_),
      accept_timer_(ioc_),
      sweep_timer_(ioc_),
      shutdown_timer_(ioc_) {}

Server::~Server() {
  stop_push();                         // Its gone reports post to the io_context.
  if (committer_) committer_->stop();  // Nothing may post to the io_context once it is gone.
}

Result<std::unique_ptr<Server>> Server::create(ServerConfig config) {
  std::unique_ptr<Server> s(new Server(std::move(config)));
  auto store = storage::Store::open({s->config_.data_dir});
  if (!store) return std::move(store).error();
  s->store_ = std::move(store).value();
  Server* self = s.get();
  s->committer_ = std::make_unique<storage::GroupCommitter>(
      *s->store_, s->config_.sync,
      [self](std::function<void()> fn) { asio::post(self->ioc_, std::move(fn)); },
      [self](const Error& e) {
        log::error("storage.failed", {{"error", e.message}});
        self->exit_code_ = 1;
        self->stop();
      });
  s->domain_ = std::make_unique<domain::Domain>(
      s->config_.domain, *s->store_, *s->committer_, s->clock_, s->hub_,
      [self](DeviceId device, uint32_t stored) { self->hub_.key_packages_low(device, stored); });
  s->hub_.bind(*s->domain_);
  if (auto loaded = s->domain_->load(); !loaded) return std::move(loaded).error();
  s->domain_->contact_links().forget_ended();
  s->domain_->purge_deleted_accounts();

  boost::system::error_code ec;
  const auto address = asio::ip::make_address(s->config_.listen_host, ec);
  if (ec)
    return make_error(Errc::kInvalidArgument, "bad listen address: " + s->config_.listen_host);
  const tcp::endpoint endpoint(address, s->config_.listen_port);
  s->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) s->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_.bind(endpoint, ec);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(Errc::kInternal, "cannot listen on " + s->config_.listen_host + ":" +
                                           std::to_string(s->config_.listen_port) + ": " +
                                           ec.message());
  }
  s->port_ = s->acceptor_.local_endpoint().port();
  if (!s->config_.tls_certificate.empty()) {
    auto tls = make_tls_context(s->config_.tls_certificate, s->config_.tls_key);
    if (!tls) return std::move(tls).error();
    s->ctx_.tls = std::move(*tls);
  }
  auto proxies = parse_proxies(s->config_.trusted_proxies);
  if (!proxies) return std::move(proxies).error();
  s->ctx_.trusted_proxies = std::move(*proxies);
  s->ctx_.metrics = [self] { return self->metrics_text(); };
  s->admin_ = std::make_unique<api::Admin>(
      *s->domain_, [self](const std::vector<DeviceId>& devices) { self->hub_.disconnect(devices); },
      s->config_.test_clock ? &s->clock_ : nullptr);
  const std::string socket_path = s->config_.admin_socket.empty()
                                      ? s->config_.data_dir + "/admin.sock"
                                      : s->config_.admin_socket;
  auto admin_socket = AdminSocket::open(s->ioc_, socket_path, *s->admin_, *s->store_);
  if (!admin_socket) return std::move(admin_socket).error();
  s->admin_socket_ = std::move(*admin_socket);
  if (auto pushing = s->start_push(); !pushing) return std::move(pushing).error();
  return s;
}

int Server::run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) shutdown();
  });
  wait_for_reload();
  ctx_.now_ms = steady_ms();
  accept();
  schedule_flush();
  schedule_sweep();
  log::info("server.started", {{"port", port_}, {"sync", config_.sync ? 1 : 0}});
  ioc_.run();
  log::info("server.stopped", {{"exit_code", exit_code_.load()}});
  return exit_code_;
}

// SIGHUP: reload the TLS certificate and key. New connections use the new ones; open connections
// keep theirs. A failed reload keeps the current ones.
void Server::wait_for_reload() {
  reload_signal_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (!config_.tls_certificate.empty()) {
      auto tls = make_tls_context(config_.tls_certificate, config_.tls_key);
      if (tls) {
        ctx_.tls = std::move(*tls);
        log::info("tls.reloaded", {});
      } else {
        log::error("tls.reload_failed", {{"error", tls.error().message}});
      }
    }
    wait_for_reload();
  });
}

void Server::stop() {
  asio::post(ioc_, [this] { shutdown(); });
}

void Server::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ctx_.stopping) return;
    if (ec) {
      // Out of file descriptors, most often: wait a little instead of spinning.
      log::warn("accept.failed", {{"error", ec.message()}});
      accept_timer_.expires_after(std::chrono::milliseconds(50));
      return accept_timer_.async_wait([this](auto) {
        if (!ctx_.stopping) accept();
      });
    }
    admit(std::move(socket));
    accept();
  });
}

// Refused connections are closed at once, before any byte is read: holding them open to answer
// would spend what the limit protects. Behind a trusted proxy the WebSocket upgrade is counted
// instead.
void Server::admit(tcp::socket socket) {
  boost::system::error_code ec;
  if (ctx_.connections >= config_.max_connections) {
    ++ctx_.counters.refused_max_connections;
    log::warn("accept.refused", {{"connections", ctx_.connections}});
    return;
  }
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  AddressSlot slot;
  if (!is_trusted_proxy(remote.address(), ctx_.trusted_proxies)) {
    slot = ctx_.addresses.take(peer_of(client_address(remote.address(), "", {})),
                               config_.max_connections_per_address);
    if (!slot) {
      ++ctx_.counters.refused_per_address;
      log::warn("accept.refused_per_address", {});
      return;
    }
  }
  socket.set_option(tcp::no_delay(true), ec);
  start_http(std::move(socket), ctx_, std::move(slot));
}

std::string Server::metrics_text() {
  using metrics::write;
  std::string out;
  const auto& hub = hub_.stats();
  write(out, "cercle_connections", "gauge", "Open connections, HTTP and WebSocket.",
        static_cast<double>(ctx_.connections));
  size_t websockets = 0, queued = 0;
  for (auto& ws : ctx_.websockets) {
    ++websockets;
    queued += ws.queued_bytes();
  }
  write(out, "cercle_websockets", "gauge", "Open WebSocket connections.",
        static_cast<double>(websockets));
  write(out, "cercle_sessions_authenticated", "gauge", "Authenticated device connections.",
        static_cast<double>(hub_.online_sessions()));
  write(out, "cercle_send_queue_bytes", "gauge", "Bytes queued for all connections.",
        static_cast<double>(queued));
  write(out, "cercle_messages_total", "counter", "Application messages accepted.",
        static_cast<double>(hub.entries[1]));
  write(out, "cercle_proposals_total", "counter", "MLS proposals accepted.",
        static_cast<double>(hub.entries[2]));
  write(out, "cercle_commits_total", "counter", "MLS commits accepted.",
        static_cast<double>(hub.entries[3]));
  write(out, "cercle_deliveries_live_total", "counter", "Deliveries sent live.",
        static_cast<double>(hub.deliveries));
  write(out, "cercle_deliveries_catchup_total", "counter", "Deliveries read back from storage.",
        static_cast<double>(hub.catchup_deliveries));
  write(out, "cercle_rate_limited_total", "counter", "Requests refused by a rate limit.",
        static_cast<double>(hub.rate_limited));
  write(out, "cercle_accounts_deleted_total", "counter", "Accounts deleted since start-up.",
        static_cast<double>(domain_->accounts_deleted()));
  write_connection_limits(out);
  if (push_sender_) push::write_metrics(out, push_sender_->stats());
  hub.delivery_lag.write(out, "cercle_delivery_lag_seconds",
                         "From a message's acceptance to its fan-out, durable write included.");
  const auto storage = committer_->stats();
  write(out, "cercle_storage_commit_groups_total", "counter", "Synced write groups.",
        static_cast<double>(storage.groups));
  write(out, "cercle_storage_batches_total", "counter", "Write batches.",
        static_cast<double>(storage.batches));
  write(out, "cercle_storage_queued_batches", "gauge", "Batches waiting for the writer.",
        static_cast<double>(storage.queued));
  const auto counts = domain_->counts();
  write(out, "cercle_accounts", "gauge", "Accounts.", static_cast<double>(counts.accounts));
  write(out, "cercle_devices", "gauge", "Devices.", static_cast<double>(counts.devices));
  write(out, "cercle_conversations", "gauge", "Conversations.",
        static_cast<double>(counts.conversations));
  write(out, "cercle_contact_links", "gauge", "Contact links kept, ended ones included.",
        static_cast<double>(counts.contact_links));
  for (const auto& [name, property] :
       {std::pair{"cercle_rocksdb_keys", "rocksdb.estimate-num-keys"},
        {"cercle_rocksdb_live_data_bytes", "rocksdb.estimate-live-data-size"},
        {"cercle_rocksdb_sst_bytes", "rocksdb.total-sst-files-size"},
        {"cercle_rocksdb_memtable_bytes", "rocksdb.cur-size-all-mem-tables"}}) {
    write(out, name, "gauge", property, static_cast<double>(store_->int_property(property)));
  }
  return out;
}

void Server::write_connection_limits(std::string& out) const {
  using metrics::write;
  const auto& c = ctx_.counters;
  write(out, "cercle_connections_refused_total", "counter",
        "Connections refused: the server had max_connections open.",
        static_cast<double>(c.refused_max_connections));
  write(out, "cercle_connections_refused_per_address_total", "counter",
        "Connections refused: their address had max_connections_per_address open.",
        static_cast<double>(c.refused_per_address));
  write(out, "cercle_auth_timeouts_total", "counter",
        "Connections closed for not authenticating within auth_timeout_s.",
        static_cast<double>(c.auth_timeouts));
  write(out, "cercle_frame_timeouts_total", "counter",
        "Connections dropped for leaving a message unfinished past frame_timeout_s.",
        static_cast<double>(c.frame_timeouts));
  write(out, "cercle_partial_frames_refused_total", "counter",
        "Connections closed because their unfinished message would exceed partial_frames_bytes.",
        static_cast<double>(c.partial_frames_refused));
  write(out, "cercle_partial_frame_bytes", "gauge",
        "Bytes held for messages not yet whole, all connections.",
        static_cast<double>(ctx_.partial_frame_bytes));
}

int64_t Server::steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void Server::schedule_sweep() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || ctx_.stopping) return;
    ctx_.now_ms = steady_ms();
    for (auto& ws : ctx_.websockets) ws.sweep(ctx_.now_ms);
    if (++sweeps_ >= config_.retention_check_s) {
      sweeps_ = 0;
      domain_->groups().erase_expired();
      domain_->contact_links().forget_ended();
      domain_->purge_deleted_accounts();
    }
    schedule_sweep();
  });
}

void Server::schedule_flush() {
  flush_timer_.expires_after(std::chrono::milliseconds(config_.cursor_flush_ms));
  flush_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || ctx_.stopping) return;
    domain_->conversations().flush_cursors();
    schedule_flush();
  });
}

void Server::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  ctx_.stopping = true;
  log::info("server.stopping", {{"connections", ctx_.connections}});
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  admin_socket_->close();
  signals_.cancel(ignored);
  reload_signal_.cancel(ignored);
  flush_timer_.cancel();
  accept_timer_.cancel();
  hub_.begin_shutdown();
  if (push_sender_) push_sender_->stop();  // Waiting pushes are dropped: nothing is kept.
  // Close handshakes are bounded by wait_for_connections, not by the sweep.
  sweep_timer_.cancel();
  domain_->conversations().flush_cursors();
  // Blocks until every submitted write is on disk; their completions are posted before this
  // returns, so they run (and answer their requests) before the step below.
  committer_->stop();
  asio::post(ioc_, [this] {
    for (auto& ws : ctx_.websockets) ws.shut(false);
    wait_for_connections(kShutdownTicks);
  });
}

void Server::wait_for_connections(int ticks_left) {
  ctx_.now_ms = steady_ms();
  if (ctx_.websockets.empty() || ticks_left == 0) {
    for (auto& ws : ctx_.websockets) ws.shut(true);
    ioc_.stop();
    return;
  }
  shutdown_timer_.expires_after(std::chrono::milliseconds(20));
  shutdown_timer_.async_wait([this, ticks_left](const boost::system::error_code&) {
    wait_for_connections(ticks_left - 1);
  });
}

}  // namespace cercle::net
