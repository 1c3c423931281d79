#include "testing/tamper_proxy.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "proto/cercle.pb.h"
#include "testing/shifted_view.h"

namespace cercle::testing {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Ws = websocket::stream<tcp::socket>;

struct TamperingRelay::Impl {
  struct Link;

  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  uint16_t port = 0;
  uint16_t server_port = 0;
  std::thread thread;

  // io thread only.
  std::set<std::shared_ptr<Link>> links;
  // By device id: a device keeps its numbering across its connections.
  std::map<uint64_t, std::shared_ptr<DeviceView>> views;

  mutable std::mutex mu;  // Guards what the test's thread reads and writes:
  std::string attacker;
  std::string conversation;
  bool sends = false;  // Armed for a Send rather than a Commit.
  std::vector<Injection> injections;
  Rewrite rewrite;
  DeliveryRewrite delivery_rewrite;

  void accept();
  // Passes `response` through the test's rewrite, if any; returns whether it did.
  bool rewrite_response(v1::Response& response) {
    std::lock_guard lock(mu);
    if (!rewrite) return false;
    rewrite(response);
    return true;
  }
  // Passes each delivery of `frame` through the test's delivery rewrite, if any.
  bool rewrite_deliveries(v1::ServerFrame& frame) {
    std::lock_guard lock(mu);
    if (!delivery_rewrite || !frame.has_deliveries()) return false;
    for (auto& d : *frame.mutable_deliveries()->mutable_deliveries()) delivery_rewrite(d);
    return true;
  }
  std::shared_ptr<DeviceView> view_of(const v1::AuthResult& auth);
  void on_commit(const Link& from, const v1::Commit& commit);
  void on_send(const Link& from, const v1::Send& send);
  // Whether `sender`'s request for `conversation` is the one armed for; disarms it.
  bool take_armed(const std::shared_ptr<DeviceView>& sender, const std::string& conv, bool send);
  // Delivers `entry` to every other connection reading its conversation; returns who got it.
  std::vector<Injection> inject(const Link& from, const v1::Delivery& entry);
};

// One client's connection and the relay's own connection to the real server on its behalf.
struct TamperingRelay::Impl::Link : std::enable_shared_from_this<Link> {
  Link(Impl& relay, tcp::socket socket) : relay(relay), down(std::move(socket)), up(relay.ioc) {}

  void start() {
    auto self = shared_from_this();
    down.async_accept([self](beast::error_code ec) {
      if (ec) return self->close();
      const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), self->relay.server_port);
      self->up.next_layer().async_connect(server, [self](beast::error_code ec2) {
        if (ec2) return self->close();
        self->up.async_handshake("127.0.0.1", "/ws", [self](beast::error_code ec3) {
          if (ec3) return self->close();
          for (Ws* ws : {&self->down, &self->up}) {
            beast::error_code ignored;
            ws->next_layer().set_option(tcp::no_delay(true), ignored);
            ws->binary(true);
            ws->read_message_max(64 << 20);
          }
          self->open = true;
          self->read(self->down, self->down_in, &Link::on_client_message);
          self->read(self->up, self->up_in, &Link::on_server_message);
          self->write_next(self->down, self->to_down, self->writing_down);
          self->write_next(self->up, self->to_up, self->writing_up);
        });
      });
    });
  }

  void read(Ws& ws, beast::flat_buffer& buffer, void (Link::*on_message)(std::string)) {
    ws.async_read(buffer, [self = shared_from_this(), &ws, &buffer, on_message](
                              beast::error_code ec, size_t) {
      if (ec) return self->close();
      std::string bytes = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      ((*self).*on_message)(std::move(bytes));
      self->read(ws, buffer, on_message);
    });
  }

  void on_client_message(std::string bytes) {
    v1::ClientFrame frame;
    if (frame.ParseFromString(bytes)) {
      if (frame.has_commit()) relay.on_commit(*this, frame.commit());
      if (frame.has_send()) relay.on_send(*this, frame.send());
      if (rewriter.to_server(frame)) bytes = frame.SerializeAsString();
    }
    send_up(std::move(bytes));  // Unparsable bytes go as they are: the real server answers them.
  }

  void on_server_message(std::string bytes) {
    // Parsing merges the DeliveryBatch frames a message may concatenate: re-encoded, they are one.
    v1::ServerFrame frame;
    if (frame.ParseFromString(bytes)) {
      if (frame.has_response() && frame.response().has_auth()) {
        rewriter.attach(relay.view_of(frame.response().auth()));
      }
      const bool lied = frame.has_response() && relay.rewrite_response(*frame.mutable_response());
      const bool forged = relay.rewrite_deliveries(frame);
      const bool shifted = rewriter.to_client(frame);
      if (lied || forged || shifted) bytes = frame.SerializeAsString();
    }
    send_down(std::move(bytes));
  }

  void send_down(std::string bytes) {
    to_down.push_back(std::move(bytes));
    write_next(down, to_down, writing_down);
  }
  void send_up(std::string bytes) {
    to_up.push_back(std::move(bytes));
    write_next(up, to_up, writing_up);
  }

  // One write in flight per stream, as Beast requires.
  void write_next(Ws& ws, std::deque<std::string>& queue, bool& writing) {
    if (!open || closed || writing || queue.empty()) return;
    writing = true;
    ws.async_write(asio::buffer(queue.front()), [self = shared_from_this(), &ws, &queue, &writing](
                                                    beast::error_code ec, size_t) {
      writing = false;
      if (ec) return self->close();
      queue.pop_front();
      self->write_next(ws, queue, writing);
    });
  }

  // Either side gone: the other goes too (a client that closed cleanly already got its close
  // frame answered by Beast while reading).
  void close() {
    if (closed) return;
    closed = true;
    beast::error_code ignored;
    down.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    down.next_layer().close(ignored);
    up.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    up.next_layer().close(ignored);
    relay.links.erase(shared_from_this());
  }

  Impl& relay;
  Ws down;  // The client's connection: the relay is its server.
  Ws up;    // The relay's connection to the real server.
  beast::flat_buffer down_in, up_in;
  std::deque<std::string> to_down, to_up;
  bool writing_down = false, writing_up = false;
  bool open = false;  // Both handshakes done.
  bool closed = false;
  FrameRewriter rewriter;
};

void TamperingRelay::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // The acceptor was closed: the relay is stopping.
    auto link = std::make_shared<Link>(*this, std::move(socket));
    links.insert(link);
    link->start();
    accept();
  });
}

std::shared_ptr<DeviceView> TamperingRelay::Impl::view_of(const v1::AuthResult& auth) {
  auto& view = views[auth.device_id()];
  if (!view) view = std::make_shared<DeviceView>(auth.handle(), auth.device_id());
  return view;
}

bool TamperingRelay::Impl::take_armed(const std::shared_ptr<DeviceView>& sender,
                                      const std::string& conv, bool send) {
  std::lock_guard lock(mu);
  if (attacker.empty() || !sender || sender->handle() != attacker || conv != conversation ||
      sends != send) {
    return false;
  }
  attacker.clear();  // One request per arm(): the test knows exactly what was injected.
  return true;
}

std::vector<TamperingRelay::Injection> TamperingRelay::Impl::inject(const Link& from,
                                                                    const v1::Delivery& entry) {
  std::map<const DeviceView*, v1::Delivery> given;  // A device with two connections gets it once.
  std::vector<Injection> done;
  for (const auto& link : links) {
    const auto& view = link->rewriter.view();
    if (link.get() == &from || !view || link->closed || !view->reads(entry.conversation_id())) {
      continue;
    }
    auto [it, first] = given.emplace(view.get(), entry);
    if (first) {
      view->inject(it->second);
      done.push_back({view->handle(), it->second.seq()});
    }
    v1::ServerFrame frame;
    *frame.mutable_deliveries()->add_deliveries() = it->second;
    link->send_down(frame.SerializeAsString());
  }
  return done;
}

namespace {

v1::Delivery entry_from(const DeviceView& sender, const std::string& conv, uint64_t epoch,
                        v1::DeliveryKind kind, const std::string& payload) {
  v1::Delivery entry;
  entry.set_conversation_id(conv);
  entry.set_kind(kind);
  entry.set_epoch(epoch);
  entry.set_sender_device(sender.device_id());
  entry.set_server_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
  entry.set_payload(payload);
  return entry;
}

}  // namespace

// What a compromised server does with a commit it wants members to take: it delivers it to them
// as an accepted commit, whatever the real server decides about it.
void TamperingRelay::Impl::on_commit(const Link& from, const v1::Commit& commit) {
  const auto& sender = from.rewriter.view();
  if (!take_armed(sender, commit.conversation_id(), /*send=*/false)) return;
  v1::Delivery entry =
      entry_from(*sender, commit.conversation_id(), commit.epoch(), v1::COMMIT, commit.commit());
  for (uint64_t d : commit.add_devices()) entry.add_added_devices(d);
  for (uint64_t d : commit.remove_devices()) entry.add_removed_devices(d);
  std::vector<Injection> done = inject(from, entry);
  // And the devices the commit adds get its Welcome, as from a server that let them in. They do
  // not read the conversation yet, so nothing of theirs needs renumbering.
  for (const auto& link : links) {
    const auto& view = link->rewriter.view();
    if (commit.welcome().empty() || !view || link->closed ||
        std::find(commit.add_devices().begin(), commit.add_devices().end(), view->device_id()) ==
            commit.add_devices().end()) {
      continue;
    }
    v1::Delivery welcome = entry;
    welcome.set_kind(v1::WELCOME);
    welcome.set_seq(1);
    welcome.set_payload(commit.welcome());
    v1::ServerFrame frame;
    *frame.mutable_deliveries()->add_deliveries() = welcome;
    link->send_down(frame.SerializeAsString());
    done.push_back({view->handle() + " (welcome)", 1});
  }
  std::lock_guard lock(mu);
  injections.insert(injections.end(), done.begin(), done.end());
}

// Likewise for a Send, delivered with its kind (APPLICATION when unspecified).
void TamperingRelay::Impl::on_send(const Link& from, const v1::Send& send) {
  const auto& sender = from.rewriter.view();
  if (!take_armed(sender, send.conversation_id(), /*send=*/true)) return;
  const v1::DeliveryKind kind =
      send.kind() == v1::DELIVERY_KIND_UNSPECIFIED ? v1::APPLICATION : send.kind();
  std::vector<Injection> done =
      inject(from, entry_from(*sender, send.conversation_id(), send.epoch(), kind, send.payload()));
  std::lock_guard lock(mu);
  injections.insert(injections.end(), done.begin(), done.end());
}

TamperingRelay::TamperingRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<TamperingRelay> TamperingRelay::start(uint16_t server_port, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->server_port = server_port;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  beast::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) {
    if (error) *error = "the tampering relay cannot listen: " + ec.message();
    return nullptr;
  }
  impl->accept();
  impl->thread = std::thread([i = impl.get()] { i->ioc.run(); });
  return std::unique_ptr<TamperingRelay>(new TamperingRelay(std::move(impl)));
}

TamperingRelay::~TamperingRelay() {
  std::promise<void> stopped;
  auto future = stopped.get_future();
  asio::post(impl_->ioc, [this, &stopped] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    const auto links = impl_->links;  // close() erases from the set.
    for (const auto& link : links) link->close();
    stopped.set_value();
  });
  future.wait_for(std::chrono::seconds(5));
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t TamperingRelay::port() const { return impl_->port; }

void TamperingRelay::arm(const std::string& attacker, const std::string& conversation) {
  std::lock_guard lock(impl_->mu);
  impl_->attacker = attacker;
  impl_->conversation = conversation;
  impl_->sends = false;
}

void TamperingRelay::arm_send(const std::string& attacker, const std::string& conversation) {
  std::lock_guard lock(impl_->mu);
  impl_->attacker = attacker;
  impl_->conversation = conversation;
  impl_->sends = true;
}

std::vector<TamperingRelay::Injection> TamperingRelay::injections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->injections;
}

void TamperingRelay::set_rewrite(Rewrite rewrite) {
  std::lock_guard lock(impl_->mu);
  impl_->rewrite = std::move(rewrite);
}

void TamperingRelay::set_delivery_rewrite(DeliveryRewrite rewrite) {
  std::lock_guard lock(impl_->mu);
  impl_->delivery_rewrite = std::move(rewrite);
}

}  // namespace cercle::testing
