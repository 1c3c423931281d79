// The commands of cercle-admin (the instance admin's tool), declared with CLI11: each turns its
// words into one admin request (server/api/admin.h). One thread (the process's main).
#pragma once

#include <optional>

#include <boost/json/object.hpp>

#include "cercle/cli/usage.h"

namespace cercle::admin_tool {

// Adds every command to `app`; the one parsed sets `request` (after parsing, before anything
// runs: help and usage errors never reach the server or the data folder).
void add_commands(CLI::App& app, std::optional<boost::json::object>& request);

}  // namespace cercle::admin_tool
