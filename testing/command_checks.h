// What every command line of the project owes its users, as gtest checks shared by the tests of
// `cercle` and `cercle-admin`: help printed on stdout with exit status 0, and usage errors that
// exit with 2 and name the fix on stderr. Pure functions over a finished CommandRun; any thread.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "testing/server_process.h"

namespace cercle::testing {

// `args` asks for help: `usage` is one whole line of stdout and `mentions` appears in it.
struct HelpCase {
  std::string args, usage, mentions;
};

// `args` is a usage error whose stderr says `says`.
struct UsageErrorCase {
  std::string args, says;
};

inline void expect_help(const CommandRun& r, const HelpCase& c) {
  EXPECT_EQ(r.status, 0) << c.args << ": " << r.err;
  EXPECT_NE(r.out.find(c.usage + "\n"), std::string::npos) << c.args << ": " << r.out;
  EXPECT_NE(r.out.find(c.mentions), std::string::npos) << c.args << ": " << r.out;
  EXPECT_EQ(r.err, "") << c.args;
}

inline void expect_usage_error(const CommandRun& r, const UsageErrorCase& c) {
  EXPECT_EQ(r.status, 2) << c.args << ": " << r.err;
  EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
  EXPECT_EQ(r.out, "") << c.args;
}

}  // namespace cercle::testing
