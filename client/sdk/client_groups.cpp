// Client: creating conversations and changing who is in them (commits, with retries when another
// member's commit won the epoch).
#include <algorithm>
#include <cctype>
#include <set>

#include "cercle/mls/key_package.h"
#include "cercle/policy/extensions.h"
#include "client/sdk/client_internal.h"

namespace cercle::client {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Fetched {
  std::vector<mls::Bytes> key_packages;
  std::vector<uint64_t> devices;
  std::vector<std::string> signature_keys;  // Each package's leaf signature key.
};

// Puts in the commit the fetched devices that have no leaf in the group yet (someone already here
// who got a new device brings only that one). Returns false when every one is already here.
bool add_new_devices(const mls::State& state, const Fetched& fetched, mls::CommitOptions& options,
                     v1::Commit& commit) {
  std::set<std::string> in_tree;
  for (const auto& m : state.members()) in_tree.insert(to_string(m.signature_key));
  for (size_t i = 0; i < fetched.devices.size(); ++i) {
    if (in_tree.contains(fetched.signature_keys[i])) continue;
    options.add_key_packages.push_back(fetched.key_packages[i]);
    commit.add_add_devices(fetched.devices[i]);
  }
  return !options.add_key_packages.empty();
}

// A group's first commit tells the relay how the group started (its epoch-0 context and tree,
// which the commit's signature covers, and the transcript hash after it), so that the relay can
// check the signature of every later proposal and commit.
void state_genesis(const mls::State& before, const mls::State& after, v1::Commit& commit) {
  const mls::Genesis genesis = mls::genesis(before, after);
  auto* g = commit.mutable_genesis();
  g->set_group_context(to_string(genesis.group_context));
  g->set_ratchet_tree(to_string(genesis.ratchet_tree));
  g->set_confirmed_transcript_hash(to_string(genesis.confirmed_transcript_hash));
}

}  // namespace

Status Client::Impl::change(Conv& conv, const Build& build) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    if (auto s = process_incoming(); !s) return s;
    if (!conv.state || conv.left || conv.broken) {
      return make_error(Errc::kRefused, "this conversation cannot be changed any more");
    }
    v1::ClientFrame f;
    auto* commit = f.mutable_commit();
    auto out = build(*conv.state, *commit);
    if (!out) return make_error(Errc::kInvalidArgument, out.error().message);
    commit->set_conversation_id(conv.id);
    commit->set_epoch(conv.state->epoch());
    commit->set_commit(to_string(out->message));
    if (out->welcome) commit->set_welcome(to_string(*out->welcome));
    if (conv.state->epoch() == 0) state_genesis(*conv.state, out->pending, *commit);
    // Saved before it is sent: if we crash, the commit read back after restart is recognised.
    conv.pending = std::move(out->pending);
    conv.pending_message = commit->commit();
    conv.pending_seq = 0;
    if (auto s = save(conv); !s) return s;
    auto r = conn->call(f);
    if (r) {
      conv.pending_seq = r->commit().seq();
      drain(conv);
      return save(conv);
    }
    conv.pending.reset();
    conv.pending_message.clear();
    if (auto s = save(conv); !s) return s;
    if (r.error().server_code != v1::STALE_EPOCH) return std::move(r).error();
    // Another member's commit won this epoch: follow it, then rebuild ours on top.
    if (auto s = wait_for_epoch(conv, r.error().current_epoch); !s) return s;
  }
  return make_error(Errc::kServer, "the group kept changing; try again");
}

// When members asked to leave (proposals removing their own leaves), one member commits them: the
// one with the lowest leaf among those staying, so that members do not race for it.
void Client::Impl::commit_pending_self_removals(Conv& conv) {
  if (conv.leaving.empty() || !conv.state || conv.left || conv.broken || conv.pending) return;
  for (const auto& m : conv.state->members()) {
    if (conv.leaving.contains(m.leaf_index)) continue;
    if (m.leaf_index != conv.state->own_leaf()) return;  // Someone before us commits.
    break;
  }
  v1::ClientFrame get;
  get.mutable_get_conversation()->set_conversation_id(conv.id);
  auto info = conn->call(get);
  if (!info) return;
  const std::set<uint32_t> leaving = conv.leaving;
  conv.leaving.clear();
  auto done = change(conv, [&](const mls::State& state, v1::Commit& commit) {
    for (const auto& m : info->conversation().members()) {
      if (leaving.contains(m.leaf())) commit.add_remove_devices(m.device_id());
    }
    return state.commit(rule_abiding_options(state));  // Pending proposals, by reference.
  });
  if (!done)
    warn(conv, "a member's request to leave could not be completed: " + done.error().message);
}

Result<Conv*> Client::Impl::open_conversation(const v1::ClientFrame& create) {
  auto r = conn->call(create);
  if (!r) return std::move(r).error();
  auto key = signer();
  if (!key) return std::move(key).error();
  Conv conv;
  conv.id = r->conversation().conversation_id();
  conv.kind = create.create_conversation().kind();
  // The creator's leaf carries what its KeyPackages carry (its account's type): the relay refuses
  // a professional's leaf that does not say so.
  mls::CreateOptions options;
  options.extension_types = policy::leaf_extension_types();
  options.leaf_extensions = leaf_extensions();
  auto state = mls::State::create(to_bytes(conv.id), credential(), std::move(*key), options);
  if (!state) return make_error(Errc::kProtocol, state.error().message);
  conv.state = std::move(*state);
  auto& stored = convs.emplace(conv.id, std::move(conv)).first->second;
  if (auto s = save(stored); !s) return std::move(s).error();
  return &stored;
}

Result<std::string> Client::create_group(std::string_view name, std::string_view description) {
  auto& impl = *impl_;
  if (!name.empty()) {
    if (auto s = check_profile_words(name, description); !s) return std::move(s).error();
  }
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  v1::ClientFrame f;
  f.mutable_create_conversation()->set_kind(v1::GROUP);
  auto opened = impl.open_conversation(f);
  if (!opened) return std::move(opened).error();
  Conv& stored = **opened;
  // A group's first commit sets its rules: its creator facilitates, invitation only.
  const std::string rules = policy::initial_policy(impl.identity->handle()).SerializeAsString();
  auto first = impl.change(stored, [&](const mls::State& state, v1::Commit&) {
    mls::CommitOptions options = rule_abiding_options(state);
    options.group_context_extensions =
        std::vector<mls::Extension>{mls::Extension{policy::kRolesExtensionType, to_bytes(rules)}};
    return state.commit(options);
  });
  if (!first) return std::move(first).error();
  if (!name.empty()) {
    if (auto named = set_group_profile(to_hex(stored.id), name, description); !named)
      return std::move(named).error();
  }
  return to_hex(stored.id);
}

// Fetches one KeyPackage for each device of `handle`, checking that each is for that account: a
// server handing out someone else's packages is caught here. Only devices the account's device
// chain lists are taken, and only once the chain itself is checked (check_chain): a device the
// owner never approved is not added, and nothing of an account whose chain is refused is.
static Result<Fetched> fetch_key_packages(Client::Impl& impl, std::string_view handle) {
  v1::ClientFrame f;
  f.mutable_fetch_key_packages()->set_handle(std::string(handle));
  auto r = impl.conn->call(f);
  if (!r) return std::move(r).error();
  const auto& result = r->fetch_key_packages();
  if (lower(result.account().handle()) != lower(handle)) {
    return make_error(Errc::kProtocol, "the server answered for another account");
  }
  auto chain = impl.check_chain(result.account());
  if (!chain) return std::move(chain).error();
  Fetched out;
  size_t unapproved = 0;
  for (const auto& kp : result.key_packages()) {
    if (kp.data().empty()) continue;  // A device with no package left cannot be added now.
    auto decoded = mls::parse_key_package(to_bytes(kp.data()));
    if (!decoded ||
        to_string(decoded->leaf_node.credential.identity) != result.account().handle()) {
      return make_error(Errc::kProtocol, "a key package does not belong to " + std::string(handle));
    }
    if (!chain->empty() && !chain->find(to_string(decoded->leaf_node.signature_key), true)) {
      ++unapproved;
      continue;
    }
    out.key_packages.push_back(to_bytes(kp.data()));
    out.devices.push_back(kp.device_id());
    out.signature_keys.push_back(to_string(decoded->leaf_node.signature_key));
  }
  if (out.devices.empty() && unapproved > 0) {
    return make_error(Errc::kRefused, "no device of " + std::string(handle) +
                                          " that can be added now is in their device chain");
  }
  if (out.devices.empty()) {
    return make_error(Errc::kNotFound,
                      std::string(handle) + " has no device that can be added now");
  }
  return out;
}

// Adds every device of `handle`, with the invitation that lets them in when there is one: the
// commit carries it, signed by its inviter, so that every member's client can check it; a
// professional also gets the role that marks them, with the member they accompany.
Status Client::Impl::add_with(Conv& conv, std::string_view handle,
                              const v1::SignedInvitation* invitation) {
  auto fetched = fetch_key_packages(*this, handle);
  if (!fetched) return std::move(fetched).error();
  v1::Invitation i;
  if (invitation && !i.ParseFromString(invitation->invitation())) {
    return make_error(Errc::kInvalidArgument, "the invitation is unreadable");
  }
  auto done = change(conv, [&](const mls::State& state, v1::Commit& commit) {
    mls::CommitOptions options = rule_abiding_options(state);
    if (!add_new_devices(state, *fetched, options, commit)) {
      return mls::Result<mls::CommitOutput>(mls::Error{
          mls::Errc::kNotFound, "every device of " + std::string(handle) + " is already here"});
    }
    auto rules = group_policy(state);
    if (invitation) {
      v1::CommitData data;
      *data.add_invitations() = *invitation;
      options.authenticated_data = to_bytes(data.SerializeAsString());
      if (rules && i.invitee_type() == v1::INVITEE_PROFESSIONAL) {
        auto* grant = rules->add_roles();
        grant->set_handle(i.invitee());
        grant->set_role(v1::INVITED_PROFESSIONAL);
        grant->set_accompanying(i.accompanying());
        options.group_context_extensions = std::vector<mls::Extension>{
            mls::Extension{policy::kRolesExtensionType, to_bytes(rules->SerializeAsString())}};
      }
    }
    return state.commit(options);
  });
  if (!done) return done;
  if (invitation) conv.invitations[i.nonce()].set_used(true);
  hand_on_profile(conv);  // The newcomer reads the group's name only from a member.
  return done;
}

Status Client::add_member(const std::string& conversation, std::string_view handle) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  if (auto s = impl.process_incoming(); !s) return s;
  // An accepted invitation for them, if there is one (a professional needs it).
  std::optional<v1::SignedInvitation> invitation;
  for (const auto& [nonce, t] : conv.invitations) {
    v1::SignedInvitation s;
    v1::Invitation i;
    if (t.accepted() && !t.used() && !t.revoked() && !t.declined() &&
        s.ParseFromString(t.signed_invitation()) && i.ParseFromString(s.invitation()) &&
        i.invitee() == handle) {
      invitation = std::move(s);
    }
  }
  return impl.add_with(conv, handle, invitation ? &*invitation : nullptr);
}

Result<std::string> Client::start_direct(std::string_view handle) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return std::move(s).error();
  auto fetched = fetch_key_packages(impl, handle);
  if (!fetched) return std::move(fetched).error();
  v1::ClientFrame f;
  f.mutable_create_conversation()->set_kind(v1::DIRECT);
  f.mutable_create_conversation()->set_peer_handle(std::string(handle));
  auto opened = impl.open_conversation(f);
  if (!opened) return std::move(opened).error();
  Conv& stored = **opened;
  auto added = impl.change(stored, [&](const mls::State& state, v1::Commit& commit) {
    mls::CommitOptions options = rule_abiding_options(state);
    options.add_key_packages = fetched->key_packages;
    for (uint64_t d : fetched->devices) commit.add_add_devices(d);
    return state.commit(options);
  });
  if (!added) return std::move(added).error();
  return to_hex(stored.id);
}

Status Client::remove_member(const std::string& conversation, std::string_view handle) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  // The leaves come from MLS; the device ids the server knows them by come from its member list.
  v1::ClientFrame get;
  get.mutable_get_conversation()->set_conversation_id(conv.id);
  auto info = impl.conn->call(get);
  if (!info) return std::move(info).error();
  std::vector<uint64_t> devices;
  for (const auto& m : info->conversation().members()) {
    if (lower(m.handle()) == lower(handle)) devices.push_back(m.device_id());
  }
  return impl.change(conv, [&](const mls::State& state, v1::Commit& commit) {
    mls::CommitOptions options = rule_abiding_options(state);
    for (const auto& m : state.members()) {
      if (lower(to_string(m.credential.identity)) == lower(handle) &&
          m.leaf_index != state.own_leaf()) {
        options.remove_leaves.push_back(m.leaf_index);
      }
    }
    if (options.remove_leaves.empty()) {
      return mls::Result<mls::CommitOutput>(
          mls::Error{mls::Errc::kNotFound, std::string(handle) + " is not in this conversation"});
    }
    for (uint64_t d : devices) commit.add_remove_devices(d);
    return state.commit(options);
  });
}

Status Client::leave(const std::string& conversation) {
  auto& impl = *impl_;
  if (auto s = impl.require_connection(); !s) return s;
  auto found = impl.find(conversation);
  if (!found) return std::move(found).error();
  Conv& conv = **found;
  if (!conv.state) return make_error(Errc::kRefused, "not in this conversation any more");
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    if (auto s = impl.process_incoming(); !s) return s;
    auto proposal = conv.state->propose_remove(conv.state->own_leaf());
    if (!proposal) return make_error(Errc::kProtocol, proposal.error().message);
    v1::ClientFrame f;
    f.mutable_send()->set_conversation_id(conv.id);
    f.mutable_send()->set_epoch(conv.state->epoch());
    f.mutable_send()->set_payload(to_string(proposal->message));
    f.mutable_send()->set_kind(v1::PROPOSAL);
    auto r = impl.conn->call(f);
    if (r) {
      conv.state = std::move(proposal->state);
      conv.own_seqs.insert(r->send().seq());
      impl.drain(conv);
      return impl.save(conv);
    }
    if (r.error().server_code != v1::STALE_EPOCH) return std::move(r).error();
    if (auto s = impl.wait_for_epoch(conv, r.error().current_epoch); !s) return s;
  }
  return make_error(Errc::kServer, "the group kept changing; try again");
}

}  // namespace cercle::client
