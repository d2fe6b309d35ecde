#include <doctest/doctest.h>

#include "forge/repo_config_parser.h"

using namespace mergeyard;
using namespace mergeyard::forge;

TEST_SUITE("forge") {

TEST_CASE("the design's example file parses into RepoConfig") {
  const std::string yml = R"(queue:
  target_batch_size: 4
  max_wait: 10m
  concurrency: 2
  pending_failure_depth: 1
  optimistic_merging: true
  bisection: binary
  merge_method: merge        # merge | squash | rebase
pipeline:
  - name: unit
    run: ./ci/test.sh unit
    timeout: 30m
    resources: {cpu: 2, memory: 4GiB}
  - name: frontend
    run: make -C web test
    inputs: [web/]           # only these paths enter the action digest
on_land:                     # optional: run after a batch lands, on the landed commit
  - name: publish
    run: ./ci/publish.sh
)";
  RepoConfigParse p = ParseRepoConfig(yml);
  REQUIRE_MESSAGE(p.ok(), p.ErrorsText());
  CHECK(p.config.queue.target_batch_size == 4);
  CHECK(p.config.queue.max_wait == 10 * kMinute);
  CHECK(p.config.queue.concurrency == 2);
  CHECK(p.config.queue.pending_failure_depth == 1);
  CHECK(p.config.queue.optimistic_merging);
  CHECK(p.config.queue.merge_method == queue::MergeMethod::kMerge);
  REQUIRE(p.config.pipeline.size() == 2);
  CHECK(p.config.pipeline[0].name == "unit");
  CHECK(p.config.pipeline[0].timeout == 30 * kMinute);
  CHECK(p.config.pipeline[0].resources.cpu == 2);
  CHECK(p.config.pipeline[0].resources.memory_bytes == 4LL * 1024 * 1024 * 1024);
  CHECK(p.config.pipeline[1].inputs == std::vector<std::string>{"web/"});
  REQUIRE(p.config.on_land.size() == 1);
  CHECK(p.config.on_land[0].run == "./ci/publish.sh");
}

TEST_CASE("custom resources, env, network and the merged label are read") {
  RepoConfigParse p = ParseRepoConfig(
      "queue:\n  merge_method: squash\nmerged_label: merged-by-queue\npipeline:\n"
      "  - name: hw\n    run: ./t\n    resources: {cpu: 0.5, memory: 512MiB, license: 1}\n"
      "    env: {CI: \"1\"}\n    network: true\n");
  REQUIRE_MESSAGE(p.ok(), p.ErrorsText());
  CHECK(p.config.queue.merge_method == queue::MergeMethod::kSquash);
  CHECK(p.config.merged_label == "merged-by-queue");
  CHECK(p.config.pipeline[0].resources.cpu == 0.5);
  CHECK(p.config.pipeline[0].resources.memory_bytes == 512LL * 1024 * 1024);
  CHECK(p.config.pipeline[0].resources.custom.at("license") == 1);
  CHECK(p.config.pipeline[0].env.at("CI") == "1");
  CHECK(p.config.pipeline[0].network);
}

TEST_CASE("pretest and pretest_bypass are read, off and 0 by default, and checked") {
  RepoConfigParse on = ParseRepoConfig("queue:\n  pretest: true\n  pretest_bypass: 2\n");
  REQUIRE_MESSAGE(on.ok(), on.ErrorsText());
  CHECK(on.config.queue.pretest);
  CHECK(on.config.queue.pretest_bypass == 2);
  RepoConfigParse off = ParseRepoConfig("queue:\n  concurrency: 4\n");
  REQUIRE(off.ok());
  CHECK_FALSE(off.config.queue.pretest);
  CHECK(off.config.queue.pretest_bypass == 0);
  RepoConfigParse bad = ParseRepoConfig("queue:\n  pretest: often\n  pretest_bypass: -1\n");
  INFO(bad.ErrorsText());
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].line == 2);
  CHECK(bad.errors[0].message.find("queue.pretest must be true or false") != std::string::npos);
  CHECK(bad.errors[1].line == 3);
  CHECK(bad.errors[1].message.find("queue.pretest_bypass must be between 0 and") != std::string::npos);
  CHECK(bad.config == engine::RepoConfig{});
}

TEST_CASE("an empty file takes every default") {
  RepoConfigParse p = ParseRepoConfig("");
  CHECK(p.ok());
  CHECK(p.config == engine::RepoConfig{});
}

TEST_CASE("unknown keys are reported with line and column") {
  RepoConfigParse p = ParseRepoConfig("queue:\n  target_batch_size: 4\n  batch_sise: 3\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].line == 3);
  CHECK(p.errors[0].column == 3);
  CHECK(p.errors[0].message.find("batch_sise") != std::string::npos);
  CHECK(p.ErrorsText().find("line 3, column 3") != std::string::npos);
}

TEST_CASE("wrong types and impossible values are reported where they are") {
  RepoConfigParse p = ParseRepoConfig(
      "queue:\n  concurrency: zero\n  target_batch_size: 0\n  max_wait: soon\n"
      "  optimistic_merging: maybe\n  merge_method: octopus\n"
      "pipeline:\n  - name: unit\n    timeout: 0s\n    resources: {memory: lots}\n");
  INFO(p.ErrorsText());
  REQUIRE(p.errors.size() == 8);
  CHECK(p.errors[0].line == 2);
  CHECK(p.errors[0].column == 16);
  CHECK(p.errors[0].message.find("queue.concurrency must be an integer") != std::string::npos);
  CHECK(p.errors[1].line == 3);
  CHECK(p.errors[1].message.find("between 1 and") != std::string::npos);
  CHECK(p.errors[2].line == 4);
  CHECK(p.errors[3].line == 5);
  CHECK(p.errors[4].line == 6);
  CHECK(p.errors[5].line == 9);
  CHECK(p.errors[6].line == 10);
  CHECK(p.errors[6].column == 25);
  CHECK(p.errors[7].message.find("needs a non-empty `run`") != std::string::npos);
  // a failed parse never hands out half a configuration
  CHECK(p.config == engine::RepoConfig{});
}

TEST_CASE("YAML syntax errors carry their position") {
  RepoConfigParse p = ParseRepoConfig("queue:\n  max_wait: [10m\n");
  REQUIRE_FALSE(p.ok());
  CHECK(p.errors[0].line >= 2);
  CHECK(p.errors[0].message.find("YAML syntax error") == 0);
}

TEST_CASE("quoted numbers are not integers and duplicate step names are refused") {
  RepoConfigParse p = ParseRepoConfig(
      "queue:\n  concurrency: \"2\"\npipeline:\n  - {name: a, run: x}\n  - {name: a, run: y}\n");
  REQUIRE(p.errors.size() == 2);
  CHECK(p.errors[0].line == 2);
  CHECK(p.errors[1].line == 5);
  CHECK(p.errors[1].message.find("used twice") != std::string::npos);
}

TEST_CASE("sizes accept binary and decimal units") {
  CHECK(ParseByteSize("4GiB") == 4LL << 30);
  CHECK(ParseByteSize("1.5GB") == 1500000000LL);
  CHECK(ParseByteSize("100") == 100);
  CHECK(ParseByteSize("12 MiB") == 12LL << 20);
  CHECK_FALSE(ParseByteSize("lots").has_value());
  CHECK_FALSE(ParseByteSize("-1GiB").has_value());
  CHECK_FALSE(ParseByteSize("4XB").has_value());
}

}  // TEST_SUITE
