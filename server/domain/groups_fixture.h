// GroupsTest: the fixture of the domain's tests of groupes de parole (groups_test.cpp: invitations,
// erasure, bounds, séances with SeanceTest below; conversations_test.cpp: the public listing). Real
// roles: alice alone facilitates the groups she makes. Helpers for commits with rules and data,
// invitations, their answers and listings, each signed with the device's own key (its MLS leaf
// key). One thread.
#pragma once

#include <sodium.h>

#include <map>

#include "cercle/policy/policy.h"
#include "cercle/policy/seance.h"
#include "server/domain/domain_fixture.h"

namespace cercle::domain {

class GroupsTest : public DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    everyone_facilitates_ = false;  // Real roles: alice alone facilitates.
  }

  // A group alice creates and facilitates (its first commit sets the rules), with `members`.
  ConvView group(Device& alice, std::vector<Device*> members,
                 const std::string& charter = "Bienveillance") {
    ConvView conv = create_group(alice);
    v1::GroupPolicy rules = policy::initial_policy(alice.info.handle);
    rules.set_charter(charter);
    EXPECT_TRUE(submit(alice, conv, rules.SerializeAsString(), {}, members).ok());
    return conv;
  }

  // Alice's commit adding `add` (with `data` as authenticated data) and maybe new rules.
  Result<CommitOk> submit(Device& by, const ConvView& conv, std::optional<std::string> rules,
                          const std::string& data, std::vector<Device*> add,
                          std::vector<Device*> remove = {}) {
    const std::string g = conv.id.str();
    std::vector<std::string> kps;
    for (Device* d : add) kps.push_back(upload_key_package(*d));
    std::vector<uint32_t> leaves;
    for (Device* d : remove) leaves.push_back(by.mls->leaf_of(g, d->info.handle));
    auto built = by.mls->commit(g, kps, leaves, rules, data);
    const uint64_t epoch = by.mls->epoch(g);
    auto r = await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(
          by.info.device_id, commit_args(conv.id, epoch, built, ids(add), ids(remove)), cb);
    });
    if (!r) {
      by.mls->discard(g);
      return r;
    }
    by.mls->adopt(g);
    for (Device* d : add) EXPECT_TRUE(d->mls->join(g, built.welcome));
    for (Device* d : devices_) {
      const bool added = std::find(add.begin(), add.end(), d) != add.end();
      if (!added && d != &by && d->mls->in_group(g)) d->mls->process(g, built.message);
    }
    return r;
  }

  v1::Invitation invitation(const ConvView& conv, const Device& inviter, const Device& invitee,
                            v1::InviteeType type, const std::string& charter = "Bienveillance") {
    v1::Invitation i;
    i.set_conversation_id(conv.id.str());
    i.set_inviter(inviter.info.handle);
    i.set_invitee(invitee.info.handle);
    i.set_invitee_type(type);
    i.set_expires_at_ms(clock_.now_ms() + 3'600'000);
    std::string nonce(16, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    i.set_nonce(nonce);
    i.set_charter(charter);
    return i;
  }

  Status create(const Device& by, const v1::SignedInvitation& s) {
    return await<Ok>([&](auto cb) {
      domain_->groups().create_invitation(by.info.device_id, s.SerializeAsString(), cb);
    });
  }

  Status accept(const Device& by, const ConvView& conv, const v1::Invitation& i) {
    return await<Ok>([&](auto cb) {
      domain_->groups().accept_invitation(by.info.device_id, conv.id, i.nonce(), cb);
    });
  }

  // Alice's commit adding the professional `pro` (a package saying so) with `data`.
  Result<CommitOk> add_professional(Device& alice, const ConvView& conv, Device& pro,
                                    const std::string& data) {
    const std::string g = conv.id.str();
    const std::string kp = pro.mls->key_package(true);
    if (auto up = upload(pro, {{kp, false}}); !up) return std::move(up).error();
    auto built = alice.mls->commit(g, {kp}, {}, std::nullopt, data);
    auto r = await<CommitOk>([&](auto cb) {
      domain_->conversations().commit(
          alice.info.device_id,
          commit_args(conv.id, alice.mls->epoch(g), built, {pro.info.device_id}), cb);
    });
    if (!r) {
      alice.mls->discard(g);
      return r;
    }
    alice.mls->adopt(g);
    EXPECT_TRUE(pro.mls->join(g, built.welcome));
    for (Device* d : devices_) {
      if (d != &alice && d != &pro && d->mls->in_group(g)) {
        EXPECT_TRUE(d->mls->process(g, built.message));
      }
    }
    return r;
  }

  Status decline(const Device& by, const ConvView& conv, const v1::Invitation& i) {
    return await<Ok>([&](auto cb) {
      domain_->groups().decline_invitation(by.info.device_id, conv.id, i.nonce(), cb);
    });
  }

  // `by`'s listing of `conv`, signed with its key over the listing's label.
  static v1::SignedPublicListing listing(const Device& by, const ConvView& conv,
                                         const std::string& name, const std::string& description) {
    v1::PublicListing l;
    l.set_conversation_id(conv.id.str());
    l.set_name(name);
    l.set_description(description);
    v1::SignedPublicListing s;
    s.set_listing(l.SerializeAsString());
    s.set_signer(by.info.handle);
    s.set_signature(by.sign(std::string("cercle-listing-v1") + '\0' + s.listing()));
    return s;
  }

  Status publish(const Device& by, const ConvView& conv, const v1::SignedPublicListing& s) {
    return await<Ok>([&](auto cb) {
      domain_->groups().publish_group(by.info.device_id, conv.id, s.SerializeAsString(), cb);
    });
  }

  void expect_bad_invitations_refused(const ConvView& conv, Device& alice, Device& bob, Device& pro,
                                      const v1::Invitation& good);

  static std::string data_with(const v1::SignedInvitation& s) {
    v1::CommitData data;
    *data.add_invitations() = s;
    return data.SerializeAsString();
  }
};

// Séances: GroupsTest's roles, and a group whose rules hold messages back outside séances, while
// the floor is another's and until the charter is confirmed, and erase a séance's messages.
class SeanceTest : public GroupsTest {
 protected:
  // Registers alice and bob; alice's group with bob in it and séance rules.
  ConvView seance_group(Device& alice, Device& bob) {
    EXPECT_TRUE(register_device(alice, "alice").ok() && register_device(bob, "bob").ok());
    ConvView conv = group(alice, {&bob});
    v1::GroupPolicy rules;
    EXPECT_TRUE(rules.ParseFromString(*alice.mls->policy(conv.id.str())));
    auto* s = rules.mutable_seances();
    s->set_write_only_in_seance(true);
    s->set_turn_taking(true);
    s->set_erase_after(true);
    s->set_erase_delay_minutes(10);
    EXPECT_TRUE(submit(alice, conv, rules.SerializeAsString(), {}, {}).ok());
    return conv;
  }

  // `by`'s event `e` after the last one accepted, in `author`'s name (else by's), signed with
  // `signer`'s key (else by's).
  Status post(const Device& by, const ConvView& conv, v1::SeanceEvent e,
              const Device* signer = nullptr, const std::string& author = "") {
    e.set_conversation_id(conv.id.str());
    e.set_author(author.empty() ? by.info.handle : author);
    e.set_previous(head_);
    e.set_seance_id(std::string(16, 's'));
    last_ = policy::seance::sign(e, (signer ? signer : &by)->sk);
    return post_signed(by, conv, last_);
  }
  Status post_signed(const Device& by, const ConvView& conv, const v1::SignedSeanceEvent& s) {
    auto r = await<Ok>([&](auto cb) {
      domain_->groups().post_seance_event(by.info.device_id, conv.id, s.SerializeAsString(), cb);
    });
    if (r) head_ = policy::seance::seance_hash(s);
    return r;
  }
  static v1::SeanceEvent opened() {
    v1::SeanceEvent e;
    e.mutable_opened()->set_charter_hash(policy::seance::charter_hash("Bienveillance"));
    return e;
  }
  static v1::SeanceEvent confirmed() {
    v1::SeanceEvent e;
    e.set_charter_confirmed(policy::seance::charter_hash("Bienveillance"));
    return e;
  }
  // `d` writes in `conv`: Errc{} when accepted.
  Errc says(Device& d, const ConvView& conv, const std::string& text, uint64_t* seq = nullptr) {
    auto r = send(d, conv.id, d.mls->epoch(conv.id.str()), message(d, conv.id, text));
    if (r && seq) *seq = r->seq;
    return r ? Errc{} : r.error().code;
  }

  std::string head_;
  v1::SignedSeanceEvent last_;
};

}  // namespace cercle::domain
