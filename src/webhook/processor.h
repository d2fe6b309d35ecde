#pragma once
// Turns stored webhook deliveries into queue events, after the listener has
// answered. Deliveries are handled per repository, oldest first and one at
// a time within a repository, while other repositories' run in parallel
// (KeyedLanes), so a repository whose forge calls fail or crawl delays no
// other repository's admissions. For each delivery:
//  - a comment with an `!integrate` command: the commenter's permission, the
//    pull request (open, not a draft, its target covered by a valid
//    `.mergeyard.yml`, merging cleanly) are checked through the forge and the
//    git layer; accepted commands post Enqueue / Cancel to the EventSink and
//    get an answer in the status comment, refused ones a reply saying why;
//  - a new head: HeadChanged; closed without merge: Cancel;
//  - a push to a branch whose `.mergeyard.yml` exists: TargetMoved, and
//    ConfigChanged when the file changed and is valid (an invalid file keeps
//    the last good configuration);
//  - CI verdicts (status, check runs, pipelines...): handed to the CI gate,
//    which keeps those for commits no batch waits on yet for a while.
// A passing failure (forge or git down, or the engine not confirming that an
// event is committed: EventSink::PostDurable) leaves the delivery pending and
// it is retried with backoff; a delivery is marked handled only once the
// queue events it produced are durable, so a crash loses none of them.

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "base/clock.h"
#include "engine/ports.h"
#include "forge/admission.h"
#include "forge/ci_gate.h"
#include "forge/config_source.h"
#include "forge/directory.h"
#include "forge/event.h"
#include "forge/reporter.h"
#include "webhook/delivery_store.h"
#include "webhook/keyed_lanes.h"

namespace mergeyard::webhook {

struct ProcessorOptions {
  std::set<std::string> bot_logins;        // comments by these are ignored (no loops)
  int batch = 64;                          // deliveries read per round, beyond those in progress
  int lanes = 8;                           // repositories handled at once
  Duration retry_delay = 5 * kSecond;      // first retry; doubled per attempt
  int max_attempts = 10;
  Duration idle_poll = 1 * kSecond;        // background loop: look for due retries
  Duration retention = 14 * 24 * kHour;    // handled deliveries are kept this long (dedup window)
  // Whether pull request `pr` is an entry of the queue `key` (a landing one
  // included); unset: assumed so. `!integrate cancel` of one that is not is
  // answered by a reply, and changes nothing.
  std::function<bool(const engine::QueueKey& key, std::int64_t pr)> queued;
};

class Processor {
 public:
  Processor(DeliveryStore& store, forge::ForgeDirectory& forges, forge::ConfigSource& configs,
            forge::Admitter& admitter, forge::Reporter& reporter, engine::EventSink& sink,
            const Clock& clock, ProcessorOptions options = {});
  ~Processor();

  // Handles every delivery due now (up to `batch`) and waits for them;
  // returns how many were handled.
  int RunOnce();

  // Background processing: Start() hands due deliveries to their lanes
  // whenever Notify() is called (the listener's on_stored) and every
  // idle_poll. Stop() waits for the deliveries being handled and is final:
  // the lanes stop, and what was not started stays pending in the store.
  void Start();
  void Stop();
  void Notify();

  // Where CI verdicts (forge::CiReported) go; null drops them. May be set
  // once the gate exists, before or after Start.
  void SetCiGate(forge::CiGate* gate) { ci_gate_.store(gate); }

 private:
  // Hands the due deliveries not in progress to their repositories' lanes;
  // how many.
  int Dispatch();
  // A delivery's payload, read once when it is dispatched: its forge, its
  // repository (which names the lane) and its event.
  struct Parsed {
    forge::ForgeKind kind{};
    forge::RepoRef repo;
    Result<forge::Event> event = Invalid("not parsed");
  };
  static Parsed Parse(const StoredDelivery& d);
  // Handles `d` and records the outcome (on a lane's thread).
  void Process(const StoredDelivery& d, const Parsed& p);
  // kTransient errors leave the delivery pending; anything else is final.
  Result<std::string> Handle(const StoredDelivery& d, const Parsed& p);
  Result<std::string> OnComment(forge::ForgeKind kind, const forge::CommentCreated& c);
  Result<std::string> OnIntegrate(forge::ForgeApi& api, const forge::CommentCreated& c, int priority,
                                  bool priority_given);
  Result<std::string> OnPush(const forge::Push& p);
  Result<std::string> OnCi(const forge::CiReported& ci);
  // Remembers the priority last given to a pull request, for `!integrate retry`.
  void RememberPriority(const std::string& repo, std::int64_t pr, int priority);

  DeliveryStore& store_;
  forge::ForgeDirectory& forges_;
  forge::ConfigSource& configs_;
  forge::Reporter& reporter_;
  engine::EventSink& sink_;
  const Clock& clock_;
  ProcessorOptions options_;
  forge::Admitter& admitter_;
  std::atomic<forge::CiGate*> ci_gate_{nullptr};

  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  std::thread thread_;
  // repo#pr -> the priority last given with an accepted `!integrate`; at
  // most kPrioritiesKept (when full, another pull request's is forgotten).
  static constexpr std::size_t kPrioritiesKept = 10000;
  std::map<std::string, int> priorities_;
  std::mutex flight_mu_;               // guards the two below
  Time last_prune_ = 0;
  std::set<std::int64_t> in_flight_;    // delivery ids handed to a lane and not recorded yet
  KeyedLanes lanes_;                    // last: stopped before the members its jobs use
};

}  // namespace mergeyard::webhook
