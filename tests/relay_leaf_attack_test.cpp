// A malicious member against the real relay, changing its own leaf (testing/mls_member.h): every
// field of an Update or UpdatePath leaf (credential, account type, keys, capabilities, source,
// lifetime, extensions, signature), and a professional's mark. Each refusal is asserted by its
// exact code; afterwards the relay's group is as it was (epoch, members) and goes on (see
// relay_attack_fixture.h). A report key of the wrong size, in a key package or a leaf. Proposal
// types and handshake paths: relay_attack_test.cpp.
#include <gtest/gtest.h>

#include "cercle/policy/extensions.h"
#include "tests/relay_attack_fixture.h"

namespace cercle::testing {
namespace {

// Bob's Update leaf, each edited one way (and signed again by bob), with the relay's refusal.
struct LeafCase {
  const char* what;
  Edit edit;
  v1::ErrorCode code;
};
const LeafCase kUpdateLeafCases[] = {
    {"another member's name", [](auto& l) { l.credential = mls::Credential(bytes("alice")); },
     v1::FORBIDDEN},
    {"an X.509 credential",
     [](auto& l) {
       l.credential.credential_type = mls::kCredentialX509;
       l.credential.certificates = {mls::Opaque{bytes("certificate")}};
       l.capabilities.credentials.push_back(mls::Uint16{mls::kCredentialX509});
     },
     v1::FORBIDDEN},
    {"the professional mark",
     [](auto& l) {
       declare_account_type(l);
       l.extensions = {account_type(2)};
     },
     v1::FORBIDDEN},
    {"a made-up account type",
     [](auto& l) {
       declare_account_type(l);
       l.extensions = {account_type(9)};
     },
     v1::FORBIDDEN},
    {"an encryption key of the wrong size", [](auto& l) { l.encryption_key.resize(16); },
     v1::INVALID_ARGUMENT},
    {"the key_package source, with a lifetime",
     [](auto& l) {
       l.source = mls::LeafNodeSource::kKeyPackage;
       l.lifetime = {0, ~uint64_t{0}};
     },
     v1::INVALID_ARGUMENT},
    {"the commit source", [](auto& l) { l.source = mls::LeafNodeSource::kCommit; },
     v1::INVALID_ARGUMENT},
    {"capabilities without the rules extension", [](auto& l) { l.capabilities.extensions.clear(); },
     v1::INVALID_ARGUMENT},
    {"an extension twice",
     [](auto& l) {
       declare_account_type(l);
       l.extensions = {account_type(1), account_type(1)};
     },
     v1::INVALID_ARGUMENT},
    {"an extension not in its capabilities", [](auto& l) { l.extensions = {account_type(1)}; },
     v1::INVALID_ARGUMENT},
};

TEST_F(RelayAttackTest, EveryFieldOfAnUpdateLeaf) {
  const auto other_key = mls::SignaturePrivateKey::generate();
  const mls::Bytes alice_key =
      alice_.mls->state(conv_).tree().leaf(alice_.mls->leaf(conv_))->signature_key;
  for (const auto& c : kUpdateLeafCases) EXPECT_EQ(send(bob_, update(c.edit)), c.code) << c.what;
  EXPECT_EQ(send(bob_, update([&](auto& l) { l.signature_key = alice_key; })),
            v1::INVALID_ARGUMENT)
      << "another member's signature key";  // Bob cannot sign for it.
  EXPECT_EQ(
      send(bob_, update([&](auto& l) { l.signature_key = other_key.public_key; }, &other_key)),
      v1::FORBIDDEN)
      << "a key the device never bound";
  mls::LeafNode misplaced = bob_.mls->update_leaf(conv_);
  misplaced.signature = mls::sign_with_label(bob_.mls->signer(), "LeafNodeTBS",
                                             misplaced.to_be_signed(bytes(conv_), 0));
  EXPECT_EQ(send(bob_, bob_.mls->propose(conv_, mls::Proposal{mls::UpdateProposal{misplaced}})),
            v1::INVALID_ARGUMENT)
      << "a signature for another leaf";
  // Bob's own leaf, marked as a peer or not (both read as a peer), is taken.
  const std::string own = bob_.mls->propose_update(conv_);
  ASSERT_EQ(send(bob_, own), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(send(bob_, update([](auto& l) {
                   declare_account_type(l);
                   l.extensions = {account_type(1)};
                 })),
            v1::ERROR_CODE_UNSPECIFIED);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

// A report key (0xF0A2) is an X25519 public key members seal reports to: the relay refuses a key
// package or an Update leaf whose report key is not 32 bytes, in these words, and takes one of 32.
TEST_F(RelayAttackTest, AReportKeyOfAnotherSizeIsRefused) {
  const std::string words = "the report key extension (0xF0A2) must be 32 bytes";
  auto report_key = [](size_t size) {
    return mls::Extension{policy::kReportKeyExtensionType, mls::Bytes(size, 7)};
  };
  auto upload = [&](size_t size) {
    mls::KeyPackageOptions o;
    o.extension_types = policy::leaf_extension_types();
    o.leaf_extensions = {report_key(size)};
    auto bundle =
        mls::create_key_package(mls::Credential(bytes(bob_.handle)), bob_.mls->signer(), o);
    EXPECT_TRUE(bundle.ok());
    v1::ClientFrame f;
    f.mutable_upload_key_packages()->add_key_packages()->set_data(
        std::string(bundle->key_package.begin(), bundle->key_package.end()));
    return bob_.ws->call(f);
  };
  for (size_t size : {0, 31, 33}) {
    auto r = upload(size);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error().code(), v1::INVALID_ARGUMENT) << size;
    EXPECT_EQ(r->error().message(), words) << size;
  }
  auto taken = upload(32);
  ASSERT_TRUE(taken && taken->has_upload_key_packages()) << taken->error().message();

  auto update_with = [&](size_t size) {
    v1::ClientFrame f = send_frame(
        conv_, epoch_, update([&](auto& l) {
          l.capabilities.extensions.push_back(mls::Uint16{policy::kReportKeyExtensionType});
          l.extensions = {report_key(size)};
        }));
    f.mutable_send()->set_kind(v1::PROPOSAL);
    auto r = bob_.ws->call(f);
    bob_.mls->discard(conv_);
    return r;
  };
  for (size_t size : {0, 31, 64}) {
    auto r = update_with(size);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error().code(), v1::INVALID_ARGUMENT) << size;
    EXPECT_EQ(r->error().message(), words) << size;
  }
  EXPECT_EQ(
      send(bob_, update([&](auto& l) {
             l.capabilities.extensions.push_back(mls::Uint16{policy::kReportKeyExtensionType});
             l.extensions = {report_key(32)};
           })),
      v1::ERROR_CODE_UNSPECIFIED);
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

TEST_F(RelayAttackTest, EveryFieldOfAnUpdatePathLeaf) {
  const auto other_key = mls::SignaturePrivateKey::generate();
  auto path = [&](mls::LeafChange change) {
    mls::CommitOptions o;
    o.path_leaf = std::move(change);
    return commit_with(bob_, o);
  };
  mls::Capabilities marked =
      mls::default_capabilities({policy::kRolesExtensionType, policy::kAccountTypeExtensionType});
  mls::Capabilities x509 = mls::default_capabilities(policy::leaf_extension_types());
  x509.credentials.push_back(mls::Uint16{mls::kCredentialX509});
  mls::Credential certificate;
  certificate.credential_type = mls::kCredentialX509;
  certificate.certificates = {mls::Opaque{bytes("certificate")}};
  mls::Capabilities no_rules = mls::default_capabilities();
  no_rules.extensions.clear();
  EXPECT_EQ(path({.credential = mls::Credential(bytes("alice"))}), v1::FORBIDDEN);
  EXPECT_EQ(path({.credential = certificate, .capabilities = x509}), v1::FORBIDDEN);
  EXPECT_EQ(path({.extensions = std::vector{account_type(2)}, .capabilities = marked}),
            v1::FORBIDDEN);
  EXPECT_EQ(path({.signer = other_key}), v1::FORBIDDEN);
  EXPECT_EQ(path({.capabilities = no_rules}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(
      path({.extensions = std::vector{account_type(1), account_type(1)}, .capabilities = marked}),
      v1::INVALID_ARGUMENT);
  // Fields the library never changes: edited, the leaf and the message signed again.
  auto edited = [&](const Edit& edit, bool sign = true) {
    return commit(bob_, edited_commit(bob_, [&](mls::Commit& c) {
                    edit(c.path->leaf_node);
                    if (sign) bob_.mls->sign_leaf(conv_, c.path->leaf_node);
                  }));
  };
  EXPECT_EQ(edited([](auto& l) {
              l.source = mls::LeafNodeSource::kKeyPackage;
              l.lifetime = {0, ~uint64_t{0}};
            }),
            v1::INVALID_ARGUMENT);
  EXPECT_EQ(edited([](auto& l) { l.source = mls::LeafNodeSource::kUpdate; }), v1::INVALID_ARGUMENT);
  EXPECT_EQ(edited([](auto& l) { l.encryption_key.resize(16); }), v1::INVALID_ARGUMENT);
  EXPECT_EQ(edited([](auto& l) { l.signature[0] ^= 1; }, false), v1::INVALID_ARGUMENT);
  EXPECT_EQ(commit(bob_, edited_commit(bob_,
                                       [](mls::Commit& c) {
                                         c.path->nodes.front().encryption_key =
                                             c.path->leaf_node.encryption_key;
                                       })),
            v1::INVALID_ARGUMENT)
      << "a path key used twice";
  EXPECT_EQ(commit(bob_, edited_commit(bob_, [](mls::Commit& c) { c.path.reset(); })),
            v1::INVALID_ARGUMENT)
      << "an empty commit needs a path";
  ASSERT_NO_FATAL_FAILURE(expect_goes_on());
}

TEST_F(RelayAttackTest, AProfessionalsLeafKeepsItsMarkAndADirectConversationGetsNoRules) {
  TestDevice pro;
  ASSERT_NO_FATAL_FAILURE(register_device("dr_martin", &pro));
  int status = -1;
  run_admin(data_dir(), {"account", "set-type", "dr_martin", "professional"}, &status);
  ASSERT_EQ(status, 0);
  ASSERT_NO_FATAL_FAILURE(reconnect(&pro));
  const std::string kp = pro.mls->key_package(/*professional=*/true);
  v1::ClientFrame upload;
  upload.mutable_upload_key_packages()->add_key_packages()->set_data(kp);
  ASSERT_TRUE(pro.ws->call(upload)->has_upload_key_packages());
  v1::ClientFrame direct;
  direct.mutable_create_conversation()->set_kind(v1::DIRECT);
  direct.mutable_create_conversation()->set_peer_handle("dr_martin");
  auto created = alice_.ws->call(direct);
  ASSERT_TRUE(created && created->has_conversation());
  const std::string d = created->conversation().conversation_id();
  alice_.mls->create(d);
  const auto first = alice_.mls->commit(d, {kp});
  auto r = alice_.ws->call(commit_frame(d, 0, first, {pro.device_id}));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  alice_.mls->adopt(d);
  ASSERT_TRUE(pro.mls->join(d, first.welcome));
  auto call = [&](TestDevice& by, v1::ClientFrame f) {
    auto answer = by.ws->call(std::move(f));
    by.mls->discard(d);
    return error_of(answer);
  };
  auto proposal = [&](const std::string& message) {
    v1::ClientFrame f = send_frame(d, 1, message);
    f.mutable_send()->set_kind(v1::PROPOSAL);
    return call(pro, f);
  };
  mls::Capabilities marked =
      mls::default_capabilities({policy::kRolesExtensionType, policy::kAccountTypeExtensionType});
  for (const auto& extensions : {std::vector<mls::Extension>{}, std::vector{account_type(1)}}) {
    EXPECT_EQ(proposal(pro.mls->propose_update(d, {.extensions = extensions})), v1::FORBIDDEN);
    mls::CommitOptions o;
    o.path_leaf = mls::LeafChange{.extensions = extensions, .capabilities = marked};
    EXPECT_EQ(call(pro, commit_frame(d, 1, pro.mls->commit_with(d, o).message)), v1::FORBIDDEN);
  }
  // Rules, alone or in a commit, from either side.
  const std::string rules_bytes = *facilitating_policy(std::nullopt, pro.handle, {});
  const mls::Proposal rules{mls::GroupContextExtensionsProposal{
      {mls::Extension{policy::kRolesExtensionType, bytes(rules_bytes)}}}};
  EXPECT_EQ(proposal(pro.mls->propose(d, rules)), v1::FORBIDDEN);
  EXPECT_EQ(call(alice_, commit_frame(d, 1, alice_.mls->commit(d, {}, {}, rules_bytes).message)),
            v1::FORBIDDEN);
  // The professional's own leaf, mark kept, goes through; alice follows the commit.
  BuiltCommit honest;
  honest.mls = pro.mls->commit(d, {});
  r = pro.ws->call(commit_frame(d, 1, honest.mls.message));
  ASSERT_TRUE(r && r->has_commit()) << (r ? r->error().message() : "timeout");
  pro.mls->adopt(d);
  auto got = alice_.ws->next_delivery();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind(), v1::COMMIT) << "alice got something the relay refused";
  ASSERT_TRUE(alice_.mls->process(d, got->payload()));
  EXPECT_EQ(alice_.mls->epoch_authenticator(d), pro.mls->epoch_authenticator(d));
}

}  // namespace
}  // namespace cercle::testing
