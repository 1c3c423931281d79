// cercle-web-interop-peer: the C++ client SDK (cercle::client) driven line by line on stdin, for the
// web client's interoperability test. One command per line, one JSON answer per line on stdout:
//   open URL DIR          opens (or creates) the local store and connects
//   register HANDLE CODE  registers ("-" for no code)
//   start HANDLE          starts a direct conversation   -> {"ok":true,"conversation":"..."}
//   send CONV TEXT...     sends the rest of the line     -> {"ok":true,"seq":N}
//   poll MS               waits up to MS for entries     -> {"ok":true,"messages":[{...}],"joined":[...]}
//   quit
// Test tool only: it prints message text (the test's own, made-up messages) on purpose.
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "client-lib/sdk/client.h"

namespace {

using cercle::client::Client;
using cercle::client::Event;

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

void fail(const cercle::client::Error& e) {
  std::cout << "{\"ok\":false,\"error\":" << quote(e.message) << ",\"server_code\":" << e.server_code << "}" << std::endl;
}

}  // namespace

int main() {
  std::unique_ptr<Client> client;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    if (cmd == "open") {
      cercle::client::Options o;
      in >> o.server_url >> o.data_dir;
      o.passphrase = "interop test store";
      o.client_name = "cercle-web-interop-peer";
      auto c = Client::open(o);
      if (!c) { fail(c.error()); continue; }
      client = std::move(*c);
      auto s = client->connect();
      if (!s) { fail(s.error()); continue; }
      std::cout << "{\"ok\":true}" << std::endl;
    } else if (!client) {
      std::cout << "{\"ok\":false,\"error\":\"open first\"}" << std::endl;
    } else if (cmd == "register") {
      std::string handle, code;
      in >> handle >> code;
      auto s = client->register_account(handle, code == "-" ? "" : code);
      if (!s) { fail(s.error()); continue; }
      std::cout << "{\"ok\":true}" << std::endl;
    } else if (cmd == "start") {
      std::string handle;
      in >> handle;
      auto id = client->start_direct(handle);
      if (!id) { fail(id.error()); continue; }
      std::cout << "{\"ok\":true,\"conversation\":" << quote(*id) << "}" << std::endl;
    } else if (cmd == "send") {
      std::string conv, text;
      in >> conv;
      std::getline(in >> std::ws, text);
      auto seq = client->send_text(conv, text);
      if (!seq) { fail(seq.error()); continue; }
      std::cout << "{\"ok\":true,\"seq\":" << *seq << "}" << std::endl;
    } else if (cmd == "poll") {
      int ms = 0;
      in >> ms;
      auto events = client->poll(std::chrono::milliseconds(ms));
      if (!events) { fail(events.error()); continue; }
      std::string messages, joined;
      for (const auto& e : *events) {
        if (e.kind == Event::Kind::kMessage) {
          if (!messages.empty()) messages += ",";
          messages += "{\"conversation\":" + quote(e.conversation) + ",\"sender\":" + quote(e.message.sender) +
                      ",\"text\":" + quote(e.message.text) + ",\"own\":" + (e.message.own ? "true" : "false") + "}";
        } else if (e.kind == Event::Kind::kJoined) {
          if (!joined.empty()) joined += ",";
          joined += quote(e.conversation);
        }
      }
      std::cout << "{\"ok\":true,\"messages\":[" << messages << "],\"joined\":[" << joined << "]}" << std::endl;
    } else {
      std::cout << "{\"ok\":false,\"error\":\"unknown command\"}" << std::endl;
    }
  }
  return 0;
}
