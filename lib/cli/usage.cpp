#include "cercle/cli/usage.h"

#include <algorithm>
#include <iostream>
#include <vector>

namespace cercle::cli {

namespace {

// The deepest command the words reached ("group" in `cercle group add X`).
const CLI::App* reached(const CLI::App& root) {
  const CLI::App* app = &root;
  while (!app->get_subcommands().empty()) app = app->get_subcommands().back();
  return app;
}

std::string path_of(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* p = app->get_parent(); p != nullptr; p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

std::string command_names(const CLI::App* app) {
  std::string out;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    out += (out.empty() ? "" : ", ") + sub->get_name();
  }
  return out;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "`" : " ") + w;
  return out + "`";
}

// "cercle send [OPTIONS] CONV TEXT": the command's words, optional ones in brackets.
std::string usage_line(const CLI::App* app) {
  std::string out = path_of(app);
  if (!app->get_options([](const CLI::Option* o) { return o->nonpositional(); }).empty()) {
    out += " [OPTIONS]";
  }
  for (const CLI::Option* o :
       app->get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    out += o->get_required() ? " " + o->get_name() : " [" + o->get_name() + "]";
  }
  return out;
}

// What a RequiredError lacks: a command, or the first required option or positional not given.
std::string missing(const CLI::App* app, const CLI::Error& e) {
  if (app->get_require_subcommand_min() > 0 && app->get_subcommands().empty()) {
    const auto extra = app->remaining();
    return (extra.empty() ? "missing COMMAND" : "unknown command " + joined(extra)) +
           ": give one of " + command_names(app);
  }
  for (const CLI::Option* opt : app->get_options()) {
    if (opt->get_required() && opt->count() == 0) {
      return "missing " + opt->get_name() + ": give " + opt->get_description();
    }
  }
  return e.what();
}

// Where the command's first word is: after the top level's options and their values.
size_t command_at(const CLI::App& app, const std::vector<std::string>& args) {
  size_t i = 0;
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    const std::string& word = args[i++];
    if (word.find('=') != std::string::npos) continue;  // --data=DIR
    const CLI::Option* opt = app.get_option_no_throw(word);
    if (opt != nullptr && opt->get_expected_min() > 0) ++i;  // --data DIR
  }
  return i;
}

}  // namespace

std::string usage_message(const CLI::App& root, const CLI::Error& e) {
  const CLI::App* app = reached(root);
  std::string what;
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    what = missing(app, e);
  } else if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    what = "unexpected " + joined(app->remaining(true)) + ": the command reads `" +
           usage_line(app) +
           "`; put a text with spaces between quotes, and a text starting with - after --";
  } else {
    what = e.what();
  }
  return path_of(app) + ": " + what + "\nSee `" + path_of(app) + " --help`.\n";
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (const size_t at = command_at(app, args); at < args.size() && args[at] == "help") {
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(at));
    args.push_back("--help");
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the words last first.
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();  // The help of the deepest command given.
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << usage_message(app, e);
    return kUsageExit;
  }
  return std::nullopt;
}

}  // namespace cercle::cli
