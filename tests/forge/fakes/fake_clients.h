#pragma once
// Connects mergeyard's real forge clients to a FakeForge, with retries made
// fast: the sleeper records each requested wait and sleeps at most 20 ms
// (or moves a ManualClock, SleepLog::advance).

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "fake_forge.h"
#include "forge/gitea/api.h"
#include "forge/github/api.h"
#include "forge/gitlab/api.h"
#include "forge/rest_client.h"

namespace mergeyard::testing {

struct SleepLog {
  std::mutex mu;
  std::vector<Duration> waits;
  // Set: each wait moves this clock by its length instead of sleeping, so a
  // client on it sees the time pass that it asked for.
  ManualClock* advance = nullptr;
  forge::RestClient::Sleeper Sleeper() {
    return [this](Duration d) {
      {
        std::lock_guard<std::mutex> lock(mu);
        waits.push_back(d);
      }
      if (advance) advance->Advance(d);
      else std::this_thread::sleep_for(std::chrono::milliseconds(std::min<Duration>(d, 20)));
    };
  }
  std::vector<Duration> Waits() {
    std::lock_guard<std::mutex> lock(mu);
    return waits;
  }
};

struct ForgeClient {
  std::unique_ptr<forge::AuthProvider> auth;
  std::unique_ptr<forge::RestClient> rest;
  std::shared_ptr<forge::ForgeApi> api;
  std::shared_ptr<SleepLog> sleeps = std::make_shared<SleepLog>();
};

inline forge::RestOptions FastOptions(forge::RestOptions o) {
  o.initial_backoff = 10;
  o.max_backoff = 100;
  o.read_timeout = 1000;
  o.connect_timeout = 1000;
  return o;
}

// A token-authenticated client of the fake, speaking the fake's flavour.
inline ForgeClient ConnectTo(FakeForge& fake, const Clock& clock, bool check_runs = false) {
  ForgeClient c;
  switch (fake.flavor()) {
    case FakeFlavor::kGithub:
      c.auth = std::make_unique<forge::StaticAuth>("Authorization", "Bearer " + fake.token());
      c.rest = std::make_unique<forge::RestClient>(FastOptions(forge::github::DefaultRestOptions(fake.base_url())),
                                                   c.auth.get(), clock, c.sleeps->Sleeper());
      c.api = std::make_shared<forge::github::GithubApi>(*c.rest, forge::github::ApiOptions{check_runs});
      break;
    case FakeFlavor::kGitlab:
      c.auth = std::make_unique<forge::StaticAuth>("PRIVATE-TOKEN", fake.token());
      c.rest = std::make_unique<forge::RestClient>(FastOptions(forge::gitlab::DefaultRestOptions(fake.base_url())),
                                                   c.auth.get(), clock, c.sleeps->Sleeper());
      c.api = std::make_shared<forge::gitlab::GitlabApi>(*c.rest);
      break;
    case FakeFlavor::kGitea:
      c.auth = std::make_unique<forge::StaticAuth>("Authorization", "token " + fake.token());
      c.rest = std::make_unique<forge::RestClient>(FastOptions(forge::gitea::DefaultRestOptions(fake.base_url())),
                                                   c.auth.get(), clock, c.sleeps->Sleeper());
      c.api = std::make_shared<forge::gitea::GiteaApi>(*c.rest);
      break;
  }
  return c;
}

}  // namespace mergeyard::testing
