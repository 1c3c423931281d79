// Server's Web Push wiring: the instance's VAPID key (vapid.pem in the data folder, made at first
// start), the sender on its own thread and io_context, and the hub's PushRelay.
#include <boost/asio/post.hpp>

#include <filesystem>

#include "server/common/log.h"
#include "server/net/server.h"
#include "server/push/vapid.h"

namespace cercle::net {

namespace asio = boost::asio;

Status Server::start_push() {
  const PushConfig& config = config_.push;
  if (!config.enabled) return Ok{};
  const std::string subject =
      config.subject.empty() ? config_.domain.association.page : config.subject;
  if (subject.empty() || !push::valid_subject(subject)) {
    // Push services may refuse pushes without a contact; better say so once than fail each push.
    log::warn("push.off", {{"reason", "no contact: set [push] subject (or [association] page)"}});
    return Ok{};
  }
  auto vapid =
      push::VapidKey::load_or_create(std::filesystem::path(config_.data_dir) / "vapid.pem");
  if (!vapid) return std::move(vapid).error();
  push::SenderOptions options;
  options.subject = subject;
  options.endpoints.allow_plain_http = config.allow_insecure_endpoints_for_tests;
  options.endpoints.allow_private_addresses = config.allow_insecure_endpoints_for_tests;
  if (config.allow_insecure_endpoints_for_tests) {
    log::warn("push.insecure_endpoints", {{"reason", "allow_insecure_endpoints_for_tests"}});
  }
  const push::EndpointRules rules = options.endpoints;
  // Runs on the push thread: the subscription is dropped on the relay's.
  auto on_gone = [this](const push::Gone& gone) {
    asio::post(ioc_, [this, gone] {
      const DeviceId device = std::strtoull(gone.device.c_str(), nullptr, 10);
      domain_->push_subscriptions().forget_gone(device, gone.endpoint);
    });
  };
  auto sender = push::Sender::create(push_ioc_.get_executor(), std::move(*vapid),
                                     std::move(options), std::move(on_gone));
  if (!sender) return std::move(sender).error();
  push_sender_ = std::move(*sender);
  push_relay_ = std::make_unique<api::PushRelay>(domain_->push_subscriptions(), *push_sender_);
  hub_.set_push(api::PushSettings{true, rules, push_sender_->vapid().public_key()},
                push_relay_.get());
  push_work_.emplace(push_ioc_.get_executor());
  push_thread_ = std::thread([this] { push_ioc_.run(); });
  log::info("push.on", {});
  return Ok{};
}

void Server::stop_push() {
  if (push_sender_) push_sender_->stop();
  push_work_.reset();
  if (push_thread_.joinable()) push_thread_.join();
}

}  // namespace cercle::net
