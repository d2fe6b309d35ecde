// `mergeyard merge-batch`: builds a batch commit from local refs, in memory,
// and prints it. Writes objects to the repository; moves no ref.

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "base/clock.h"
#include "git/batch_builder.h"

namespace mergeyard::app {

namespace {

struct MergeBatchArgs {
  std::string repo;
  std::string base;
  std::string method = "merge";
  bool json = false;
  std::vector<std::string> refs;
};

void PrintJson(const git::BatchCommit& b, Duration elapsed) {
  nlohmann::json conflicts = nlohmann::json::array();
  for (const auto& c : b.conflicts) conflicts.push_back({{"ref", c.label}, {"paths", c.paths}});
  nlohmann::json out = {{"commit", b.commit},   {"tree", b.tree},
                        {"merged", b.merged},   {"conflicts", conflicts},
                        {"elapsed_ms", elapsed}};
  std::cout << out.dump(2) << "\n";
}

void PrintText(const git::BatchCommit& b, Duration elapsed) {
  std::cout << "batch commit " << b.commit << "\n  tree " << b.tree << "\n  built in "
            << elapsed << " ms\n";
  std::cout << "merged (" << b.merged.size() << "):";
  for (const auto& m : b.merged) std::cout << " " << m;
  std::cout << "\n";
  for (const auto& c : b.conflicts) {
    std::cout << "conflict: " << c.label << " (left out):";
    for (const auto& p : c.paths) std::cout << " " << p;
    std::cout << "\n";
  }
}

int Run(const MergeBatchArgs& args) {
  git::BatchSpec spec;
  spec.base = args.base;
  if (!queue::ParseMergeMethod(args.method, &spec.method)) {
    std::fprintf(stderr, "mergeyard merge-batch: unknown method '%s' (merge, squash, rebase)\n",
                 args.method.c_str());
    return 2;
  }
  for (const auto& r : args.refs) spec.parts.push_back({r, 0, r});
  SystemClock clock;
  Time start = clock.Now();
  spec.now = start;
  auto built = git::BuildBatchAt(args.repo, spec);
  Duration elapsed = clock.Now() - start;
  if (!built) {
    std::fprintf(stderr, "mergeyard merge-batch: %s\n", built.error().message.c_str());
    return built.error().code == ErrorCode::kInvalid ? 2 : 1;
  }
  if (args.json) {
    PrintJson(*built, elapsed);
  } else {
    PrintText(*built, elapsed);
  }
  return 0;
}

}  // namespace

void AddMergeBatchCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<MergeBatchArgs>();
  auto* cmd = app.add_subcommand(
      "merge-batch", "Build a batch commit from local refs in memory and print it (moves no ref)");
  cmd->add_option("--repo", args->repo, "path to the repository")->required();
  cmd->add_option("--base", args->base, "the revision to build on")->required();
  cmd->add_option("--method", args->method, "merge | squash | rebase (default merge)");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_option("refs", args->refs, "pull-request revisions, merged in order")->required();
  cmd->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace mergeyard::app
