// Writes seed inputs for the fuzz targets into <dir>/message and <dir>/process.
#include <fstream>
#include <string>

#include "lib/mls/fuzz/fuzz_fixture.h"

using namespace cercle::mls;

static void write(const std::string& path, uint8_t selector, const Bytes& body,
                  bool with_selector) {
  std::ofstream out(path, std::ios::binary);
  if (with_selector) out.put(static_cast<char>(selector));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string dir = argv[1];
  fuzz::use_deterministic_random();
  auto f = fuzz::make_fixture();
  int n = 0;
  for (size_t i = 0; i < f.messages_for_bob.size(); ++i) {
    const Bytes& m = f.messages_for_bob[i];
    write(dir + "/message/seed" + std::to_string(n), 0, m, false);
    write(dir + "/process/seed" + std::to_string(n++), i + 1 == f.messages_for_bob.size() ? 1 : 0,
          m, true);
  }
  write(dir + "/message/seed" + std::to_string(n), 0, f.welcome_for_carol, false);
  write(dir + "/process/seed" + std::to_string(n++), 2, f.welcome_for_carol, true);
  write(dir + "/message/seed" + std::to_string(n++), 0, f.carol_kp.key_package, false);
  write(dir + "/message/seed" + std::to_string(n++), 0, f.bob.tree().encode_bytes(), false);
  write(dir + "/process/seed" + std::to_string(n++), 3, f.bob.serialize(), true);
  // Insider seeds: bodies alice signs before bob processes them.
  write(dir + "/process/seed" + std::to_string(n++), 4, encode(Proposal{RemoveProposal{1}}), true);
  write(dir + "/process/seed" + std::to_string(n++), 4,
        encode(Proposal{AddProposal{f.carol_kp.decoded().value()}}), true);
  CommitOptions opts;
  opts.add_key_packages = {f.carol_kp.key_package};
  auto commit = f.alice.commit(opts).value();
  auto msg = decode_exact<MlsMessage>(commit.message).value();
  const auto& content = std::get<PublicMessage>(msg.body).content.content;
  write(dir + "/process/seed" + std::to_string(n++), 5, encode(std::get<Commit>(content)), true);
  write(dir + "/process/seed" + std::to_string(n++), 5, encode(Commit{}), true);
  return 0;
}
