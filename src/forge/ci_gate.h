#pragma once
// engine::RunPort for repositories whose `.mergeyard.yml` has `checks`
// (DESIGN.md section 7): a batch passes only when every pipeline step passed
// (through the inner RunPort, mergeyard's own executors) and every required
// check passed on the exact batch commit, as the forge's CI reported it.
// Repositories without `checks` go straight to the inner port. The
// configuration is read on the gate's own thread (after a restart that may
// ask the forge), never on the caller's. The inner port must not answer
// from inside Start (engine::RunPort answers later, from any thread).
//
// Verdicts arrive by webhook (Observe, from the webhook processor) and by
// polling the forge (ForgeApi::ListChecks) while a batch waits: every
// `poll_interval` while the repository's CI sends no webhooks, every
// `safety_poll_interval` while it does (a lost webhook still cannot stall a
// queue; then not before the time by which 90% of the repository's recent
// runs had answered), doubling after a failed poll. A run re-issued after a restart
// (StartRun::started_at in the past) is polled at once. Checks a webhook
// reports before the batch's wait starts (a fast CI answering the push) are
// kept for it, for the last kEarlyCommitsKept commits.
//
// The first required check, in the order the configuration lists them, that
// ended in anything but success fails the run (FailureKind::kCheck, linking
// the check's own page); a required check with no verdict by started_at +
// timeout fails it (kCheckTimeout). A run no longer wanted (Cancel) or
// failed has its remaining CI cancelled where the forge allows it.
//
// Verdict cache: when the batch commit's tree already passed the same
// required checks in the repository, the checks count as passed at once
// (any CI a push of it started is cancelled; the service does not push such
// a batch in a repository without pipeline) and nothing waits.
//
// Thread-safe; forge calls run on the gate's own thread, never the caller's.

#include <condition_variable>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "engine/ports.h"
#include "engine/repo_config.h"
#include "engine/verdict_cache.h"
#include "forge/ci_check.h"
#include "forge/directory.h"

namespace mergeyard::forge {

struct CiGateOptions {
  Duration poll_interval = 30 * kSecond;          // no CI webhook seen lately from the repository
  Duration safety_poll_interval = 5 * kMinute;    // CI webhooks arrive: polling is the safety net
  Duration webhooks_fresh = 15 * kMinute;         // a CI webhook this recent counts as "arriving"
  Duration max_poll_backoff = 10 * kMinute;       // after failed polls
  Duration protection_ttl = 10 * kMinute;         // branch-protection required checks are cached this long
};

enum class CiSource { kWebhook, kPoll, kCache };
const char* CiSourceName(CiSource s);  // "webhook", "poll", "cache"

// One required check of a waiting (or decided) batch, for the API and dashboard.
struct CheckView {
  std::string name;
  CiState state = CiState::kPending;
  std::string conclusion;
  std::string url;
  std::string source;  // "webhook", "poll", "cache", or "" while nothing was heard
};

struct GateView {
  std::string commit;
  bool cached = false;        // decided by the verdict cache
  bool decided = false;
  std::vector<CheckView> checks;
};

class CiGate final : public engine::RunPort {
 public:
  using ConfigLookup = std::function<std::optional<engine::RepoConfig>(const engine::QueueKey&)>;
  using TreeLookup = std::function<Result<std::string>(const std::string& repo, const std::string& commit)>;

  // `cache` and `trees` may be null/empty (no verdict cache). Everything
  // given must outlive the gate. `registry` null: metrics::Default().
  CiGate(engine::RunPort& pipeline, ForgeDirectory& forges, ConfigLookup configs, const Clock& clock,
         engine::VerdictCache* cache = nullptr, TreeLookup trees = {}, CiGateOptions options = {},
         metrics::Registry* registry = nullptr);
  ~CiGate() override;

  // engine::RunPort
  void Start(const engine::QueueKey& key, const queue::StartRun& run, engine::EventSink& sink) override;
  void Cancel(const engine::QueueKey& key, const queue::CancelRun& cancel) override;

  // Verdicts from a webhook. Checks on commits no batch waits for are dropped.
  void Observe(const std::string& repo, const std::vector<CiCheck>& checks);
  // A webhook said `sha`'s checks changed without naming them (check_suite):
  // poll it now if a batch waits for it.
  void PollNow(const std::string& repo, const std::string& sha);

  // The required checks of `batch`, when it is (or was lately) gated here.
  std::optional<GateView> View(const engine::QueueKey& key, queue::BatchId batch) const;
  // Batches waiting for CI now.
  std::size_t waiting() const;

 private:
  struct Wait;
  struct Relay;
  struct Remembered {
    std::string repo;
    std::vector<std::string> checks;
    engine::CachedVerdict verdict;
  };
  using WaitKey = std::pair<engine::QueueKey, queue::BatchId>;

  void Loop();
  void Prepare(const std::shared_ptr<Wait>& w);
  // A repository without checks: the run is the inner port's alone.
  void Delegate(const std::shared_ptr<Wait>& w);
  // Whether `w` is still the wait of its batch (not cancelled or replaced); mu_ held.
  bool Live(const Wait& w) const;
  void BackOffLocked(Wait& w, Time now);
  void Poll(const std::shared_ptr<Wait>& w);
  Result<std::vector<std::string>> ProtectedChecks(const engine::QueueKey& key);
  void CancelCi(const std::string& repo, const std::string& sha);
  void Remember(const Remembered& r);
  void OnPipeline(const engine::QueueKey& key, const queue::RunFinished& result);
  // Decides `w` if it can be decided now; mu_ held.
  void EvaluateLocked(Wait& w, Time now);
  void FinishLocked(Wait& w, queue::RunFinished result);
  void ApplyLocked(Wait& w, const CiCheck& c, CiSource source);
  Time NextPollLocked(const Wait& w, Time now) const;
  // The 90th percentile of how long the repository's CI took to answer
  // lately; 0 until kDurationsForExpected answers were seen. mu_ held.
  Duration ExpectedDurationLocked(const std::string& repo) const;

  engine::RunPort& pipeline_;
  ForgeDirectory& forges_;
  ConfigLookup configs_;
  const Clock& clock_;
  engine::VerdictCache* cache_;
  TreeLookup trees_;
  CiGateOptions options_;
  std::unique_ptr<Relay> relay_;

  metrics::CounterFamily* verdicts_;     // by source and result
  metrics::HistogramFamily* wait_time_;  // start to verdict
  metrics::CounterFamily* polls_;        // by result

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<WaitKey, std::shared_ptr<Wait>> waits_;
  std::map<std::string, Time> last_webhook_;  // repo -> last CI webhook; one per repository
  // Checks heard by webhook for commits no wait had yet: (repo, sha) -> checks.
  static constexpr std::size_t kEarlyCommitsKept = 1024;
  // How long the CI took to answer, per repository: the last kDurationsKept.
  static constexpr std::size_t kDurationsKept = 32;
  static constexpr std::size_t kDurationsForExpected = 5;
  std::map<std::string, std::deque<Duration>> durations_;
  struct Early {
    std::uint64_t seq = 0;                  // its entry in early_order_
    std::map<std::string, CiCheck> checks;  // by name
  };
  std::map<std::pair<std::string, std::string>, Early> early_;
  std::deque<std::pair<std::pair<std::string, std::string>, std::uint64_t>> early_order_;  // oldest first
  std::uint64_t early_seq_ = 0;
  std::map<std::pair<std::string, std::string>, std::pair<Time, std::vector<std::string>>> protection_;
  std::vector<std::pair<std::string, std::string>> to_cancel_;  // (repo, sha) whose CI to cancel
  std::vector<Remembered> to_remember_;                         // passes for the verdict cache
  std::thread thread_;
};

}  // namespace mergeyard::forge
