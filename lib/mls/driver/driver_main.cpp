// cercle-mls-driver: one MLS client driven by JSON lines on stdin (one request per line, one
// response per line on stdout, bytes as hex). Used by the ts-mls interop test and the
// benchmarks; the protocol is documented in lib/mls/DRIVER.md.
#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "cercle/mls/state.h"

namespace json = boost::json;
using namespace cercle::mls;

namespace {

struct Failure {
  std::string code;
  std::string message;
};

Bytes hex_field(const json::object& req, std::string_view key) {
  const json::value* v = req.if_contains(key);
  if (!v || !v->is_string()) throw Failure{"bad_request", "missing hex field " + std::string(key)};
  auto b = from_hex(std::string_view(v->as_string()));
  if (!b) throw Failure{"bad_request", "bad hex in " + std::string(key)};
  return *b;
}

template <typename T>
T unwrap(Result<T> r) {
  if (!r.ok()) throw Failure{errc_name(r.error().code), r.error().message};
  return std::move(r).value();
}

class Driver {
 public:
  json::object handle(const json::object& req) {
    std::string op(req.at("op").as_string());
    if (op == "create_key_package") return create_key_package(req);
    if (op == "create_group") return create_group(req);
    if (op == "add") return add(req);
    if (op == "join") return join(req);
    if (op == "commit") return commit(req);
    if (op == "propose") return propose(req);
    if (op == "process" || op == "decrypt") return process(req, op == "decrypt");
    if (op == "encrypt") return encrypt(req);
    if (op == "export_secret") return export_secret(req);
    if (op == "epoch_authenticator") return epoch_authenticator();
    if (op == "members") return members();
    throw Failure{"bad_request", "unknown op " + op};
  }

 private:
  State& state() {
    if (!state_) throw Failure{"no_group", "no group yet"};
    return *state_;
  }

  json::object epoch_fields() {
    return {{"epoch", state().epoch()}, {"own_leaf", state().own_leaf()}};
  }

  json::object create_key_package(const json::object& req) {
    credential_ = Credential{hex_field(req, "identity")};
    auto bundle = unwrap(cercle::mls::create_key_package(credential_, signer_));
    std::string kp_hex = to_hex(bundle.key_package);
    bundles_.push_back(std::move(bundle));
    return {{"key_package", kp_hex}};
  }

  json::object create_group(const json::object& req) {
    credential_ = Credential{hex_field(req, "identity")};
    state_ = unwrap(State::create(hex_field(req, "group_id"), credential_, signer_));
    return epoch_fields();
  }

  json::object finish_commit(CommitOutput out) {
    json::object res{{"commit", to_hex(out.message)}};
    if (out.welcome) res["welcome"] = to_hex(*out.welcome);
    // No delivery service here: the commit counts as accepted at once.
    state_ = std::move(out.pending);
    for (auto& [k, v] : epoch_fields()) res[k] = v;
    return res;
  }

  json::object add(const json::object& req) {
    CommitOptions opts;
    opts.add_key_packages = {hex_field(req, "key_package")};
    return finish_commit(unwrap(state().commit(opts)));
  }

  json::object commit(const json::object& req) {
    CommitOptions opts;
    if (const json::value* r = req.if_contains("remove")) {
      for (const auto& leaf : r->as_array())
        opts.remove_leaves.push_back(leaf.to_number<uint32_t>());
    }
    return finish_commit(unwrap(state().commit(opts)));
  }

  json::object propose(const json::object& req) {
    ProposalOutput out = [&] {
      if (const json::value* r = req.if_contains("remove")) {
        return unwrap(state().propose_remove(r->to_number<uint32_t>()));
      }
      return unwrap(state().propose_update());
    }();
    state_ = std::move(out.state);
    return {{"proposal", to_hex(out.message)}};
  }

  json::object join(const json::object& req) {
    Bytes welcome = hex_field(req, "welcome");
    Error last{Errc::kNotFound, "no key package"};
    for (const auto& b : bundles_) {
      auto s = State::join(welcome, b);
      if (s.ok()) {
        state_ = std::move(*s);
        return epoch_fields();
      }
      last = s.error();
    }
    throw Failure{errc_name(last.code), last.message};
  }

  json::object process(const json::object& req, bool expect_application) {
    auto out = unwrap(state().process(hex_field(req, "message")));
    if (expect_application && out.kind != ContentKind::kApplication) {
      throw Failure{"bad_request", "not an application message"};
    }
    json::object res{{"sender", out.sender}, {"removed", out.removed}};
    const char* kinds[] = {"application", "proposal", "commit"};
    res["kind"] = kinds[static_cast<int>(out.kind)];
    if (out.kind == ContentKind::kApplication) res["plaintext"] = to_hex(out.application_data);
    if (!out.removed) state_ = std::move(out.state);
    for (auto& [k, v] : epoch_fields()) res[k] = v;
    return res;
  }

  json::object encrypt(const json::object& req) {
    auto [msg, next] = unwrap(state().encrypt(hex_field(req, "plaintext")));
    state_ = std::move(next);
    return {{"message", to_hex(msg)}};
  }

  json::object export_secret(const json::object& req) {
    std::string label(req.at("label").as_string());
    size_t len = req.at("length").to_number<size_t>();
    return {
        {"secret", to_hex(unwrap(state().export_secret(label, hex_field(req, "context"), len)))}};
  }

  json::object epoch_authenticator() {
    json::object res{{"epoch_authenticator", to_hex(state().epoch_authenticator())}};
    for (auto& [k, v] : epoch_fields()) res[k] = v;
    return res;
  }

  json::object members() {
    json::array list;
    for (const auto& m : state().members()) {
      list.push_back({{"leaf_index", m.leaf_index},
                      {"identity", to_hex(m.credential.identity)},
                      {"signature_key", to_hex(m.signature_key)}});
    }
    return {{"members", list}};
  }

  SignaturePrivateKey signer_ = SignaturePrivateKey::generate();
  Credential credential_;
  std::vector<KeyPackageBundle> bundles_;
  std::optional<State> state_;
};

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  Driver driver;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json::object res;
    json::value id;
    try {
      json::value req = json::parse(line);
      if (const json::value* v = req.as_object().if_contains("id")) id = *v;
      res = driver.handle(req.as_object());
      res["ok"] = true;
    } catch (const Failure& f) {
      res = {{"ok", false}, {"error", {{"code", f.code}, {"message", f.message}}}};
    } catch (const std::exception& e) {
      res = {{"ok", false}, {"error", {{"code", "bad_request"}, {"message", e.what()}}}};
    }
    if (!id.is_null()) res["id"] = id;
    std::cout << json::serialize(res) << "\n" << std::flush;
  }
  return 0;
}
