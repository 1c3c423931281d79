// Command-line parsing shared by `cercle` and `cercle-admin`, over CLI11. Help is printed at every
// level before anything touches the environment (no passphrase, data folder or server needed),
// and a usage error names the fix and exits with kUsageExit. One thread (the process's main).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace cercle::cli {

inline constexpr int kUsageExit = 2;

// Parses argv into `app`'s commands. nullopt: the chosen command is to run. Otherwise the process
// exit code, once the help asked for is printed on stdout (0) or a usage error on stderr
// (kUsageExit). `help WORDS...` (after the top-level options) reads as `WORDS... --help`.
[[nodiscard]] std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

// The text of a usage error, for the deepest command the words reached: what is missing or wrong,
// what to give instead (the option's own description), and which help to read.
[[nodiscard]] std::string usage_message(const CLI::App& root, const CLI::Error& e);

}  // namespace cercle::cli
