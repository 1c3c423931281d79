// `cercle register`, `dm`, `conversations`, `send`, `listen` and `history`: an account, its
// conversations and their messages.
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include "client/cli/cli.h"

namespace cercle::cli {

namespace {

namespace json = boost::json;
using client::Client;

volatile std::sig_atomic_t g_stop = 0;

void print_conversations(Client& c, bool as_json) {
  for (const auto& conv : c.conversations()) {
    if (as_json) {
      json::array members;
      for (const auto& m : conv.members) members.push_back(json::string(m));
      std::cout << json::serialize(json::object{{"conversation", conv.id},
                                                {"direct", conv.direct},
                                                {"name", conv.name},
                                                {"epoch", conv.epoch},
                                                {"members", members},
                                                {"left", conv.left}})
                << std::endl;
    } else {
      std::cout << conv.id << (conv.direct ? " direct" : " groupe");
      if (!conv.name.empty()) std::cout << " « " << conv.name << " »";
      for (const auto& m : conv.members) std::cout << " " << m;
      std::cout << (conv.left ? " (quittée)" : "") << std::endl;
    }
  }
}

// Prints incoming messages and events until `count` messages came (count < 0: no limit), the
// timeout passed (timeout < 0: none) or the process is asked to stop.
int listen(Client& c, long count, long timeout, bool as_json) {
  const auto deadline = timeout < 0
                            ? std::chrono::steady_clock::time_point::max()
                            : std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  long seen = 0;
  while (!g_stop && (count < 0 || seen < count) && std::chrono::steady_clock::now() < deadline) {
    auto events = c.poll(std::chrono::milliseconds(500));
    if (!events) return fail(events.error());
    for (const auto& e : *events) {
      if (e.kind == client::Event::Kind::kMessage) {
        print_message(e.message, as_json);
        if (count >= 0 && ++seen >= count) break;
      } else if (e.kind == client::Event::Kind::kWarning) {
        std::cerr << "cercle: " << e.detail << "\n";
      } else {
        print_event(e, as_json);
      }
    }
  }
  return (count >= 0 && seen < count) ? 4 : 0;  // Timed out before the expected messages.
}

void add_register(CLI::App& app, Context& ctx) {
  struct Words {
    std::string handle, code, contact;
  };
  auto w = std::make_shared<Words>();
  auto* cmd = app.add_subcommand("register", "create this device's account");
  add_handle(cmd, w->handle, "HANDLE", "the handle (account name) you choose");
  cmd->add_option("--code", w->code, "a registration code from the instance's admin");
  cmd->add_option("--contact", w->contact, "a contact token someone gave you");
  on_run(cmd, ctx, Account::kNotNeeded, [w, &ctx](Client& c) {
    auto s = c.register_account(w->handle, w->code, w->contact);
    if (!s) return fail(s.error());
    if (ctx.json) std::cout << json::serialize(json::object{{"handle", c.handle()}}) << std::endl;
    return 0;
  });
}

void add_send(CLI::App& app, Context& ctx) {
  struct Words {
    std::string conv, text;
  };
  auto w = std::make_shared<Words>();
  auto* cmd = app.add_subcommand("send", "send a message");
  add_conv(cmd, w->conv);
  cmd->add_option("TEXT", w->text, "the message, between quotes if it has spaces")->required();
  on_run(cmd, ctx, Account::kNeeded, [w, &ctx](Client& c) {
    auto seq = c.send_text(w->conv, w->text);
    if (!seq) return fail(seq.error());
    if (ctx.json) std::cout << json::serialize(json::object{{"seq", *seq}}) << std::endl;
    return 0;
  });
}

void add_listen(CLI::App& app, Context& ctx) {
  struct Words {
    long count = -1, timeout = -1;
  };
  auto w = std::make_shared<Words>();
  auto* cmd = app.add_subcommand("listen", "print incoming messages and events, one per line");
  cmd->add_option("--count", w->count, "stop after N messages (exit code 4 if fewer came)")
      ->type_name("N");
  cmd->add_option("--timeout", w->timeout, "stop after SECONDS")->type_name("SECONDS");
  on_run(cmd, ctx, Account::kNeeded,
         [w, &ctx](Client& c) { return listen(c, w->count, w->timeout, ctx.json); });
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
}

void add_message_commands(CLI::App& app, Context& ctx) {
  add_register(app, ctx);
  auto handle = std::make_shared<std::string>();
  auto* dm = app.add_subcommand("dm", "start a one-to-one conversation; prints its id");
  add_handle(dm, *handle, "HANDLE", "the handle of the person to talk with");
  on_run(dm, ctx, Account::kNeeded, [handle, &ctx](Client& c) {
    auto id = c.start_direct(*handle);
    if (!id) return fail(id.error());
    print_id(*id, ctx.json);
    return 0;
  });
  auto* list = app.add_subcommand("conversations", "list your conversations");
  on_run(list, ctx, Account::kNeeded, [&ctx](Client& c) {
    (void)c.poll(std::chrono::milliseconds(200));  // Take in invitations that are waiting.
    print_conversations(c, ctx.json);
    return 0;
  });
  add_send(app, ctx);
  add_listen(app, ctx);
  auto conv = std::make_shared<std::string>();
  auto* history = app.add_subcommand("history", "print a conversation's messages");
  add_conv(history, *conv);
  on_run(history, ctx, Account::kNeeded, [conv, &ctx](Client& c) {
    auto messages = c.history(*conv);
    if (!messages) return fail(messages.error());
    for (const auto& m : *messages) print_message(m, ctx.json);
    return 0;
  });
}

}  // namespace cercle::cli
