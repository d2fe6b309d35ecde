#include "queue/step.h"

#include <algorithm>
#include <cassert>

#include "bisect/split.h"

namespace mergeyard::queue {
namespace {

// One transition. Handlers change the state; Advance() then does whatever the
// rules now allow (resolve, land, form, build, bisect, arm the timer).
class Machine {
 public:
  Machine(State& s, Time now, std::vector<Effect>& out) : s_(s), now_(now), out_(out) {}

  void Handle(const Event& event) {
    if (!s_.index.built) RebuildIndexes(s_);
    std::visit([this](const auto& e) { On(e); }, event);
    Advance();
  }

 private:
  // ---- events ---------------------------------------------------------------

  void On(const Enqueue& e) {
    int priority = e.priority;
    if (Entry* old = FindEntry(e.pr)) {
      if (!e.priority_given) priority = old->priority;
      if (old->head_sha == e.head_sha) {
        SetPriority(*old, priority);
        Emit(Queued(e.pr, ReportReason::kAlreadyQueued, e.actor));
        return;
      }
      RemoveEntry(e.pr, CancelCause{ReportReason::kReplaced, "", e.head_sha});
      if (FindEntry(e.pr)) return;  // frozen in a landing: the new command waits
    }
    Entry entry;
    entry.pr = e.pr;
    entry.head_sha = e.head_sha;
    entry.priority = priority;
    entry.enqueued_at = now_;
    entry.seq = s_.next_seq++;
    s_.entries[e.pr] = entry;
    IndexWaiting(entry);
    Emit(Queued(e.pr, ReportReason::kAccepted, e.actor));
  }

  void On(const Cancel& e) { RemoveEntry(e.pr, CancelCause{e.reason, e.actor, ""}); }

  void On(const HeadChanged& e) {
    Entry* entry = FindEntry(e.pr);
    if (!entry || entry->head_sha == e.head_sha) return;
    RemoveEntry(e.pr, CancelCause{ReportReason::kNewHead, "", e.head_sha});
  }

  void On(const Reprioritize& e) {
    if (Entry* entry = FindEntry(e.pr)) SetPriority(*entry, e.priority);
  }

  void On(const BatchBuilt& e) {
    Batch* b = FindBatch(e.batch);
    if (!b || b->state != BatchState::kBuilding) return;  // stale
    for (const MergeConflict& c : e.conflicts) TakeOutConflicting(*b, c);
    if (b->prs.empty()) {
      DropEmptyBatch(*b);
      return;
    }
    assert(!e.commit.empty());
    b->commit = e.commit;
    SetState(*b, BatchState::kTesting);
    b->started_at = now_;
    Emit(StartRun{b->id, b->commit, now_});
    for (PrNumber pr : b->prs) {
      Report r = MakeReport(pr, ReportKind::kTesting, ReportReason::kBatchStarted);
      r.batch = b->id;
      r.commit = b->commit;
      Emit(std::move(r));
    }
  }

  void On(const BuildFailed& e) {
    Batch* b = FindBatch(e.batch);
    if (!b || b->state != BatchState::kBuilding) return;
    s_.build_backoff_until = now_ + kBuildBackoff;
    if (b->kind == BatchKind::kBisect) {
      SetState(*b, BatchState::kQueued);
      b->base_sha.clear();
      return;
    }
    Report why = Why(ReportReason::kBuildFailed);
    why.detail = e.message;
    DissolveMainFrom(IndexInMain(b->id), why);
  }

  void On(const RunFinished& e) {
    Batch* b = FindBatch(e.batch);
    if (!b || b->state != BatchState::kTesting) return;  // stale or cancelled
    b->finished_at = now_;
    if (!e.passed) {
      b->failure = e.failure;
      b->failed_step = e.failed_step;
      b->log_url = e.log_url;
      b->failure_detail = e.failure_detail;
    }
    SetState(*b, e.passed ? BatchState::kPassed : BatchState::kFailed);
    if (e.passed) {
      if (b->kind == BatchKind::kBisect) HalfPassed(*b);
      return;  // Advance() lands it (or, a bisection half, returns it)
    }
    if (b->kind == BatchKind::kBisect) {
      BisectFailed(*b);
    } else if (s_.config.pending_failure_depth == 0) {
      FailMainBatch(IndexInMain(b->id));
    }  // else a pending failure: ResolvePendingFailures decides
  }

  void On(const LandResult& e) {
    Batch* b = FindBatch(e.batch);
    if (!b || b->state != BatchState::kLanding || s_.landing != e.batch) return;
    if (e.landed) {
      Landed(*b);
    } else {
      LandRejected(*b, e.tip);
    }
  }

  void On(const TargetMoved& e) {
    if (e.tip.empty() || e.tip == s_.tip) return;
    if (std::find(s_.past_tips.begin(), s_.past_tips.end(), e.tip) != s_.past_tips.end()) return;
    if (Batch* landing = FindBatch(s_.landing); landing && landing->commit == e.tip) {
      Landed(*landing);  // the echo of our own push: the Land answer will be stale
      return;
    }
    SetTip(e.tip);
    RestartUnstartedBisectNodes();
    Report why = Why(ReportReason::kTargetMoved);
    why.commit = e.tip;
    DissolveMainFrom(FirstUnfrozenMainIndex(), why);
  }

  void On(const TimerFired&) {
    if (s_.timer_at != 0 && s_.timer_at <= now_) s_.timer_at = 0;
  }

  void On(const SetPaused& e) { s_.paused = e.paused; }

  void On(const ConfigChanged& e) { s_.config = e.config; }

  // ---- landing ----------------------------------------------------------------

  void SetTip(const std::string& tip) {
    if (tip == s_.tip) return;
    if (!s_.tip.empty()) s_.past_tips.push_back(s_.tip);
    if (s_.past_tips.size() > kPastTipsKept) s_.past_tips.erase(s_.past_tips.begin());
    std::erase(s_.past_tips, tip);
    s_.tip = tip;
  }

  void Landed(Batch& b) {
    s_.landing = 0;
    // The tip the landing expected: the base of the front batch it covers.
    std::string old_tip =
        b.kind == BatchKind::kMain ? s_.batches.at(s_.main.front()).base_sha : b.base_sha;
    if (s_.tip == old_tip) SetTip(b.commit);
    std::vector<BatchId> done;
    if (b.kind == BatchKind::kMain) {
      size_t k = IndexInMain(b.id);
      done.assign(s_.main.begin(), s_.main.begin() + k + 1);
      s_.main.erase(s_.main.begin(), s_.main.begin() + k + 1);
    } else {
      done.push_back(b.id);
    }
    std::string commit = b.commit;
    for (BatchId id : done) {
      Batch& landed = s_.batches.at(id);
      for (PrNumber pr : landed.prs) {
        for (PrNumber other : s_.entries.at(pr).apart_from) {
          if (Entry* o = FindEntry(other)) o->apart_landed.push_back(pr);
        }
        Report r = MakeReport(pr, ReportKind::kMerged, ReportReason::kLanded);
        r.batch = id;
        r.commit = commit;
        r.queued_at = s_.entries.at(pr).enqueued_at;
        EndEntry(pr, std::move(r));
      }
      FinishBatch(id);
    }
    RestartUnstartedBisectNodes();
    // A bisection half that lands (or someone else's push) moves the target
    // under every main batch built on the old tip.
    if (!s_.main.empty()) {
      const Batch& front = s_.batches.at(s_.main.front());
      if (!front.base_sha.empty() && front.base_sha != s_.tip) {
        Report why = Why(ReportReason::kTargetMoved);
        why.commit = s_.tip;
        DissolveMainFrom(0, why);
      }
    }
  }

  void LandRejected(Batch& b, const std::string& actual_tip) {
    s_.landing = 0;
    if (!actual_tip.empty()) SetTip(actual_tip);
    const Report reason = Why(ReportReason::kLandRejected);
    if (b.kind == BatchKind::kMain) {
      DissolveMainFrom(0, reason);
    } else {
      for (PrNumber pr : b.prs) s_.entries.at(pr).pretested = true;  // it passed alone
      ReturnBatchEntries(b, reason);
      FinishBatch(b.id);
      DissolveMainFrom(FirstUnfrozenMainIndex(), reason);
    }
  }

  // Lands the deepest main batch whose tree covers only passed batches (or,
  // with optimistic merging, pending failures within the depth), or a passed
  // bisection half whose base is still the tip.
  void TryLand() {
    if (s_.landing != 0 || s_.tip.empty()) return;
    int best = -1;
    int uncovered_failure = -1;
    for (size_t i = 0; i < s_.main.size(); ++i) {
      const Batch& b = s_.batches.at(s_.main[i]);
      if (b.state == BatchState::kPassed) {
        bool covers = uncovered_failure < 0 ||
                      (s_.config.optimistic_merging &&
                       static_cast<int>(i) - uncovered_failure <= s_.config.pending_failure_depth);
        if (!covers) break;
        best = static_cast<int>(i);
        uncovered_failure = -1;
      } else if (b.state == BatchState::kFailed) {
        if (!s_.config.optimistic_merging) break;
        if (uncovered_failure < 0) uncovered_failure = static_cast<int>(i);
      } else {
        break;
      }
    }
    if (best >= 0) {
      Batch& b = s_.batches.at(s_.main[best]);
      assert(s_.batches.at(s_.main.front()).base_sha == s_.tip);
      StartLanding(b, Land{b.id, b.commit, s_.tip, PrsLandingWith(s_, b.id)});
      return;
    }
    // A passed bisection half lands at once only when no main batch is in
    // flight: landing it would move the tip under every one of them and throw
    // their runs away. Otherwise it waits, and returns to the queue as soon
    // as the main queue moves the tip (ReturnStaleBisectPasses).
    if (MainInFlight() > 0) return;
    for (BatchId id : BisectNodes(BatchState::kPassed)) {
      Batch& b = s_.batches.at(id);
      if (b.base_sha == s_.tip) {
        StartLanding(b, Land{b.id, b.commit, s_.tip, PrsLandingWith(s_, b.id)});
        return;
      }
    }
  }

  void StartLanding(Batch& b, Land land) {
    SetState(b, BatchState::kLanding);
    s_.landing = b.id;
    Emit(std::move(land));
  }

  // A passed bisection half whose base is no longer the tip goes back to the
  // front of the main queue (its entries keep their enqueue times).
  // With pretest on, it returns at once while main batches are in flight:
  // its entries join the main queue instead of waiting for the tip to move.
  void ReturnStaleBisectPasses() {
    if (BisectNodes(BatchState::kPassed).empty()) return;
    bool join_main = s_.config.pretest && MainInFlight() > 0;
    std::vector<BatchId> stale;
    for (BatchId id : BisectNodes(BatchState::kPassed)) {
      if (join_main || s_.batches.at(id).base_sha != s_.tip) stale.push_back(id);
    }
    for (BatchId id : stale) {
      Batch& b = s_.batches.at(id);
      for (PrNumber pr : b.prs) s_.entries.at(pr).pretested = true;  // not waiting: not indexed
      ReturnBatchEntries(b, Why(ReportReason::kPassedAlone));
      FinishBatch(id);
    }
  }

  // ---- failure and bisection ------------------------------------------------

  // When the tip moves, bisection nodes that have not made progress yet (still
  // building, or started this very instant) start again on the new tip, so
  // their pass can land instead of returning to the main queue.
  void RestartUnstartedBisectNodes() {
    std::vector<BatchId> restart;
    for (BatchId id : BisectNodes(BatchState::kBuilding)) {
      if (s_.batches.at(id).base_sha != s_.tip) restart.push_back(id);
    }
    for (BatchId id : BisectNodes(BatchState::kTesting)) {
      const Batch& b = s_.batches.at(id);
      if (b.base_sha != s_.tip && b.started_at == now_) restart.push_back(id);
    }
    std::sort(restart.begin(), restart.end());  // in id order, as the batches map
    for (BatchId id : restart) {
      Batch old = s_.batches.at(id);
      if (old.state == BatchState::kTesting) Emit(CancelRun{id});
      FinishBatch(id);
      NewBisectNode(old.prs, old.bisect_root, old.bisect_parent, old.sibling);
    }
  }

  // Rule 5: the failed batch leaves the main queue; everything behind it was
  // built on it and is rebuilt. Its bisection starts at once (halves are
  // tested in isolation, so their results are evidence whatever happens
  // ahead), but its own failure counts against it only if the tree it was
  // built on passed: a batch stacked on one still testing may have failed
  // because of it.
  void FailMainBatch(size_t index) {
    BatchId id = s_.main[index];
    const Batch* base = index == 0 ? nullptr : FindBatch(s_.main[index - 1]);
    bool evidence = !base || base->state == BatchState::kPassed ||
                    base->state == BatchState::kLanding;
    DissolveMainFrom(index + 1, Why(ReportReason::kBatchAheadFailed));
    s_.main.erase(s_.main.begin() + index);
    BisectFailed(s_.batches.at(id), evidence);
  }

  // `failed` has finished failing (a main batch out of the queue, or a
  // bisection node): split it, retry its singleton, or kick the culprit. A
  // singleton whose failure is not `evidence` against it is tested alone
  // without spending a retry.
  void BisectFailed(Batch& failed, bool evidence = true) {
    BatchId root = failed.kind == BatchKind::kMain ? failed.id : failed.bisect_root;
    const Batch done = failed;  // `failed` is gone after FinishBatch
    const std::vector<PrNumber>& prs = done.prs;
    FinishBatch(done.id);
    if (prs.size() > 1) {
      auto [left, right] = bisect::BinarySplit(prs);
      // Halves of a failure that counts know each other: if both pass, the
      // failure needed both (an interaction, or a flake). See HalfPassed.
      NewBisectNode(left, root, done.id, evidence ? right : std::vector<PrNumber>{});
      NewBisectNode(right, root, done.id, evidence ? left : std::vector<PrNumber>{});
      return;
    }
    PrNumber pr = prs.front();
    Entry& entry = s_.entries.at(pr);
    if (!evidence || entry.retries_used < s_.config.singleton_retries) {
      if (evidence) ++entry.retries_used;
      NewBisectNode(prs, root, done.id);
      return;
    }
    EndEntry(pr, Kick(done, root, entry));
  }

  // The culprit's kick: every fact a person needs to fix it.
  Report Kick(const Batch& failed, BatchId root, const Entry& entry) const {
    Report r = MakeReport(entry.pr, ReportKind::kKicked, ReportReason::kFailed);
    r.batch = failed.id;
    r.failure = failed.failure;
    r.failed_step = failed.failed_step;
    r.log_url = failed.log_url;
    r.failure_detail = failed.failure_detail;
    r.base_sha = failed.base_sha;
    r.bisect_root = root != failed.id ? root : 0;
    r.attempts = s_.config.singleton_retries + 1;
    r.fails_with = entry.apart_landed;  // interaction suspects that landed since (HalfPassed)
    return r;
  }

  // A bisection half passed. If the other half of the same failed batch has
  // passed too (its entries say so), that failure needed entries from both:
  // an interaction (or a flake). The two halves' entries become interaction
  // suspects of each other and are never batched together again.
  void HalfPassed(const Batch& half) {
    if (half.sibling.empty()) return;
    BatchId parent = half.bisect_parent;
    std::vector<PrNumber> other;
    for (PrNumber pr : half.sibling) {
      const Entry* e = FindEntry(pr);
      if (e && e->passed_half_of == parent) other.push_back(pr);
    }
    for (PrNumber pr : half.prs) {
      Entry& e = s_.entries.at(pr);
      e.passed_half_of = parent;
      for (PrNumber o : other) {
        KeepApart(e, o);
        KeepApart(s_.entries.at(o), pr);
      }
    }
  }

  void KeepApart(Entry& e, PrNumber other) {
    std::erase_if(e.apart_from, [&](PrNumber pr) { return !s_.entries.count(pr); });
    if (std::find(e.apart_from.begin(), e.apart_from.end(), other) == e.apart_from.end())
      e.apart_from.push_back(other);
  }

  // A bisection node; `root` 0 makes it a root of its own (a pretest batch).
  void NewBisectNode(const std::vector<PrNumber>& prs, BatchId root, BatchId parent,
                     std::vector<PrNumber> sibling = {}) {
    Batch node;
    node.id = s_.next_batch_id++;
    if (root == 0) root = node.id;
    node.kind = BatchKind::kBisect;
    node.prs = prs;
    node.state = BatchState::kQueued;
    node.created_at = now_;
    node.bisect_root = root;
    node.bisect_parent = parent;
    node.sibling = std::move(sibling);
    for (PrNumber pr : prs) {
      Entry& e = s_.entries.at(pr);
      SetStatus(e, EntryStatus::kBisecting);
      e.batch = node.id;
    }
    IndexBatch(node);
    s_.batches[node.id] = std::move(node);
  }

  // Rule 6: a pending failure is decided once the `depth` batches behind it
  // have finished without one landing it, or when nothing more will come.
  bool ResolvePendingFailures() {
    int depth = s_.config.pending_failure_depth;
    for (size_t i = 0; i < s_.main.size(); ++i) {
      const Batch& f = s_.batches.at(s_.main[i]);
      if (f.state != BatchState::kFailed) continue;
      int finished = 0;
      bool in_progress = false;
      bool rescued = false;
      for (size_t j = i + 1; j < s_.main.size() && static_cast<int>(j - i) <= depth; ++j) {
        const Batch& g = s_.batches.at(s_.main[j]);
        if (g.state == BatchState::kPassed || g.state == BatchState::kLanding) {
          ++finished;
          rescued = rescued || s_.config.optimistic_merging;
        } else if (g.state == BatchState::kFailed) {
          ++finished;
        } else {
          in_progress = true;
        }
      }
      if (rescued) continue;  // TryLand lands it once everything ahead is done
      bool more_coming = !in_progress && CanFormMore();
      if (finished >= depth || (!in_progress && !more_coming)) {
        FailMainBatch(i);
        return true;
      }
    }
    return false;
  }

  // ---- batch formation and building -----------------------------------------

  int MainInFlight() const {
    int n = 0;
    for (BatchId id : s_.main) {
      BatchState st = s_.batches.at(id).state;
      if (st == BatchState::kWaitingBase || st == BatchState::kBuilding ||
          st == BatchState::kTesting)
        ++n;
    }
    return n;
  }

  // With pending failures, no more than `depth` batches stack behind one.
  bool DepthBlocked() const {
    for (size_t i = 0; i < s_.main.size(); ++i) {
      if (s_.batches.at(s_.main[i]).state != BatchState::kFailed) continue;
      if (static_cast<int>(s_.main.size() - i - 1) >= s_.config.pending_failure_depth) return true;
    }
    return false;
  }

  bool Waiting() const { return !s_.index.waiting.empty(); }

  // The first `limit` entries of `set` in queue order, passing over any that
  // must be kept apart from one already taken (Entry::apart_from). Costs
  // O(limit + the entries passed over), and those are bounded by the taken
  // entries' apart_from lists.
  std::vector<PrNumber> FirstOf(const WaitingSet& set, size_t limit) const {
    std::vector<PrNumber> out;
    for (auto it = set.order.begin(); it != set.order.end() && out.size() < limit; ++it) {
      PrNumber pr = std::get<3>(*it);
      const auto& apart = s_.entries.at(pr).apart_from;
      bool clash = std::any_of(apart.begin(), apart.end(), [&](PrNumber other) {
        return std::find(out.begin(), out.end(), other) != out.end();
      });
      if (!clash) out.push_back(pr);
    }
    return out;
  }

  // Rule 2's trigger: enough entries wait (even if some of them may not
  // share this batch), or the oldest has waited max_wait.
  bool ReadyToForm(const WaitingSet& set, size_t target) const {
    return set.order.size() >= target || now_ - OldestOf(set) >= s_.config.max_wait;
  }

  static Time OldestOf(const WaitingSet& set) {
    return set.by_time.empty() ? 0 : std::get<0>(*set.by_time.begin());
  }

  // Whether waiting entries could still form a batch (now or when the timer fires).
  bool CanFormMore() const { return !s_.paused && Waiting() && now_ >= s_.build_backoff_until; }

  // Rule 2. With pretest on, main batches form from pretested entries only
  // (from any while fewer than pretest_bypass main batches in flight hold
  // untested ones), and pretest batches (bisection nodes of their own) from
  // the untested rest, while a bisection slot is free.
  bool FormBatches() {
    if (s_.paused || s_.tip.empty() || now_ < s_.build_backoff_until) return false;
    bool pretest = s_.config.pretest;
    int untested_in_flight = pretest ? UntestedMainInFlight() : 0;
    size_t target = static_cast<size_t>(s_.config.target_batch_size);
    bool formed = false;
    while (MainInFlight() < s_.config.concurrency && !DepthBlocked()) {
      bool any = !pretest || untested_in_flight < s_.config.pretest_bypass;
      const WaitingSet& from = any ? s_.index.waiting : s_.index.pretested;
      if (!ReadyToForm(from, target)) break;
      std::vector<PrNumber> waiting = FirstOf(from, target);
      if (waiting.empty()) break;
      NewMainBatch(waiting);
      if (pretest && HoldsUntested(waiting)) ++untested_in_flight;
      formed = true;
    }
    if (!pretest) return formed;
    while (BisectSlotsTaken() < s_.config.bisection_concurrency) {
      if (!ReadyToForm(s_.index.untested, target)) break;
      std::vector<PrNumber> waiting = FirstOf(s_.index.untested, target);
      if (waiting.empty()) break;
      NewBisectNode(waiting, 0, 0);
      formed = true;
    }
    return formed;
  }

  bool HoldsUntested(const std::vector<PrNumber>& prs) const {
    for (PrNumber pr : prs)
      if (!s_.entries.at(pr).pretested) return true;
    return false;
  }

  int UntestedMainInFlight() const {
    int n = 0;
    for (BatchId id : s_.main) {
      const Batch& b = s_.batches.at(id);
      if ((b.state == BatchState::kWaitingBase || b.state == BatchState::kBuilding ||
           b.state == BatchState::kTesting) && HoldsUntested(b.prs))
        ++n;
    }
    return n;
  }

  // Bisection nodes building, testing, or queued for a slot.
  int BisectSlotsTaken() const {
    return static_cast<int>(BisectNodes(BatchState::kQueued).size() +
                            BisectNodes(BatchState::kBuilding).size() +
                            BisectNodes(BatchState::kTesting).size());
  }

  void NewMainBatch(const std::vector<PrNumber>& prs) {
    Batch b;
    b.id = s_.next_batch_id++;
    b.kind = BatchKind::kMain;
    b.prs = prs;
    b.state = BatchState::kWaitingBase;
    b.created_at = now_;
    for (PrNumber pr : prs) {
      Entry& e = s_.entries.at(pr);
      SetStatus(e, EntryStatus::kBatched);
      e.batch = b.id;
    }
    s_.main.push_back(b.id);
    s_.batches[b.id] = std::move(b);
  }

  // Main batches build on the commit of the batch ahead (or the tip) as soon as
  // it is known.
  void StartMainBuilds() {
    for (size_t i = 0; i < s_.main.size(); ++i) {
      Batch& b = s_.batches.at(s_.main[i]);
      if (b.state != BatchState::kWaitingBase) continue;
      BatchId parent = i == 0 ? 0 : s_.main[i - 1];
      std::string base = i == 0 ? s_.tip : s_.batches.at(parent).commit;
      if (base.empty()) break;
      b.parent = parent;
      StartBuild(b, base);
    }
  }

  void StartBisectBuilds() {
    if (s_.tip.empty() || now_ < s_.build_backoff_until) return;
    int active = static_cast<int>(BisectNodes(BatchState::kBuilding).size() +
                                  BisectNodes(BatchState::kTesting).size());
    std::vector<BatchId> start;
    for (BatchId id : BisectNodes(BatchState::kQueued)) {
      if (active + static_cast<int>(start.size()) >= s_.config.bisection_concurrency) break;
      start.push_back(id);
    }
    for (BatchId id : start) StartBuild(s_.batches.at(id), s_.tip);
  }

  void StartBuild(Batch& b, const std::string& base) {
    b.base_sha = base;
    SetState(b, BatchState::kBuilding);
    BuildBatch build{b.id, base, s_.tip, {}, s_.config.merge_method};
    for (PrNumber pr : b.prs) build.entries.push_back({pr, s_.entries.at(pr).head_sha});
    Emit(std::move(build));
  }

  bool BisectQueued() const { return !BisectNodes(BatchState::kQueued).empty(); }

  // Wakes the queue when the oldest waiting entry reaches max_wait, or when a
  // build backoff ends.
  void ArmFormationTimer() {
    Time at = 0;
    if (Waiting()) {
      auto deadline = [&](const WaitingSet& set) {
        return std::max(OldestOf(set) + s_.config.max_wait, s_.build_backoff_until);
      };
      if (!s_.config.pretest) {
        at = deadline(s_.index.waiting);
      } else {
        // The earlier of the two formations' deadlines still to come.
        for (const WaitingSet* set : {&s_.index.untested, &s_.index.pretested}) {
          if (set->empty()) continue;
          Time d = deadline(*set);
          if (d > now_ && (at == 0 || d < at)) at = d;
        }
      }
    } else if (BisectQueued()) {
      at = s_.build_backoff_until;
    } else {
      return;
    }
    if (at <= now_ || at == s_.timer_at) return;
    s_.timer_at = at;
    Emit(ArmTimer{at});
  }

  void Advance() {
    for (int round = 0; round < 64; ++round) {
      ReturnStaleBisectPasses();
      bool changed = FormBatches();
      changed = ResolvePendingFailures() || changed;
      if (!changed) break;
    }
    TryLand();
    StartMainBuilds();
    StartBisectBuilds();
    ArmFormationTimer();
  }

  // ---- removing entries and batches -----------------------------------------

  // Takes an entry out wherever it is (rule 8) and ends it with `kind`.
  void RemoveEntry(PrNumber pr, const CancelCause& cause) {
    Entry* entry = FindEntry(pr);
    if (!entry) return;
    if (IsFrozen(*entry)) {
      entry->pending_cancel = cause;
      return;
    }
    BatchId holder = entry->batch;
    EndEntry(pr, Cancelled(pr, cause));
    Batch* b = FindBatch(holder);
    if (!b) return;
    b->prs.erase(std::remove(b->prs.begin(), b->prs.end(), pr), b->prs.end());
    if (b->kind == BatchKind::kMain) {
      DissolveMainFrom(IndexInMain(b->id), Why(ReportReason::kBatchAheadChanged));
      return;
    }
    // A bisection node is retested without the entry.
    std::vector<PrNumber> rest = b->prs;
    BatchId root = b->bisect_root, parent = b->bisect_parent;
    std::vector<PrNumber> sibling = b->sibling;
    if (b->state == BatchState::kTesting) Emit(CancelRun{b->id});
    FinishBatch(b->id);
    if (!rest.empty()) NewBisectNode(rest, root, parent, std::move(sibling));
  }

  bool IsFrozen(const Entry& e) const {
    if (s_.landing == 0 || e.batch == 0) return false;
    if (e.batch == s_.landing) return true;
    const Batch* landing = FindBatch(s_.landing);
    if (!landing || landing->kind != BatchKind::kMain) return false;
    for (BatchId id : s_.main) {
      if (id == e.batch) return true;
      if (id == s_.landing) break;
    }
    return false;
  }

  size_t FirstUnfrozenMainIndex() const {
    const Batch* landing = FindBatch(s_.landing);
    if (!landing || landing->kind != BatchKind::kMain) return 0;
    return IndexInMain(landing->id) + 1;
  }

  // Main batches from `index` to the end are taken apart; their entries wait
  // again (keeping their places) and form new batches on the current base.
  void DissolveMainFrom(size_t index, const Report& reason) {
    while (s_.main.size() > index) {
      BatchId id = s_.main.back();
      s_.main.pop_back();
      Batch& b = s_.batches.at(id);
      if (b.state == BatchState::kTesting) Emit(CancelRun{id});
      ReturnBatchEntries(b, reason);
      FinishBatch(id);
    }
  }

  void ReturnBatchEntries(const Batch& b, const Report& reason) {
    for (PrNumber pr : b.prs) ReturnToWaiting(pr, reason);
  }

  // `reason`: a Why() report naming the reason and its facts.
  void ReturnToWaiting(PrNumber pr, const Report& reason) {
    Entry* e = FindEntry(pr);
    if (!e) return;
    SetStatus(*e, EntryStatus::kWaiting);
    e->batch = 0;
    if (e->pending_cancel.reason != ReportReason::kNone) {
      const CancelCause cause = e->pending_cancel;
      EndEntry(pr, Cancelled(pr, cause));
      return;
    }
    Report r = reason;
    r.pr = pr;
    r.kind = ReportKind::kReturned;
    Emit(std::move(r));
  }

  void TakeOutConflicting(Batch& b, const MergeConflict& c) {
    auto it = std::find(b.prs.begin(), b.prs.end(), c.pr);
    if (it == b.prs.end()) return;
    b.prs.erase(it);
    if (c.with_tip || b.kind == BatchKind::kBisect) {
      Report r = MakeReport(c.pr, ReportKind::kKicked, ReportReason::kConflict);
      r.batch = b.id;
      r.paths = c.paths;
      EndEntry(c.pr, std::move(r));
    } else {
      ReturnToWaiting(c.pr, Why(ReportReason::kConflictsAhead));
    }
  }

  void DropEmptyBatch(Batch& b) {
    BatchId id = b.id;
    if (b.kind == BatchKind::kMain) {
      // Batches behind have not been built yet (they wait for this commit).
      s_.main.erase(s_.main.begin() + IndexInMain(id));
    }
    FinishBatch(id);
  }

  // Ends the batch: history gets it, the adapters drop its ref.
  void FinishBatch(BatchId id) {
    auto it = s_.batches.find(id);
    if (it == s_.batches.end()) return;
    std::string result = "cancelled";
    if (it->second.state == BatchState::kPassed || it->second.state == BatchState::kLanding)
      result = "pass";
    else if (it->second.state == BatchState::kFailed)
      result = "fail";
    UnindexBatch(it->second);
    Emit(BatchDone{std::move(it->second), result});
    s_.batches.erase(it);
  }

  // ---- indexes (StateIndexes): every change of an entry's status or
  // priority, and of a batch's state, goes through these -------------------------

  void IndexWaiting(const Entry& e) {
    s_.index.waiting.Insert(e);
    (e.pretested ? s_.index.pretested : s_.index.untested).Insert(e);
  }

  void UnindexWaiting(const Entry& e) {
    s_.index.waiting.Erase(e);
    (e.pretested ? s_.index.pretested : s_.index.untested).Erase(e);
  }

  void SetStatus(Entry& e, EntryStatus status) {
    if (e.status == status) return;
    if (e.status == EntryStatus::kWaiting) UnindexWaiting(e);
    e.status = status;
    if (e.status == EntryStatus::kWaiting) IndexWaiting(e);
  }

  void SetPriority(Entry& e, int priority) {
    if (e.status == EntryStatus::kWaiting) UnindexWaiting(e);
    e.priority = priority;
    if (e.status == EntryStatus::kWaiting) IndexWaiting(e);
  }

  // Only bisection nodes are indexed: the main queue is short and kept in order.
  void IndexBatch(const Batch& b) {
    if (b.kind == BatchKind::kBisect) s_.index.bisect[static_cast<size_t>(b.state)].insert(b.id);
  }

  void UnindexBatch(const Batch& b) {
    if (b.kind == BatchKind::kBisect) s_.index.bisect[static_cast<size_t>(b.state)].erase(b.id);
  }

  void SetState(Batch& b, BatchState state) {
    UnindexBatch(b);
    b.state = state;
    IndexBatch(b);
  }

  const std::set<BatchId>& BisectNodes(BatchState state) const {
    return s_.index.bisect[static_cast<size_t>(state)];
  }

  // ---- helpers ---------------------------------------------------------------

  void EndEntry(PrNumber pr, Report report) {
    if (Entry* e = FindEntry(pr); e && e->status == EntryStatus::kWaiting) UnindexWaiting(*e);
    s_.entries.erase(pr);
    Emit(std::move(report));
  }

  static Report MakeReport(PrNumber pr, ReportKind kind, ReportReason reason) {
    Report r;
    r.pr = pr;
    r.kind = kind;
    r.reason = reason;
    return r;
  }

  // A reason for returning entries, filled in per entry by ReturnToWaiting.
  static Report Why(ReportReason reason) { return MakeReport(0, ReportKind::kReturned, reason); }

  Report Queued(PrNumber pr, ReportReason reason, const std::string& actor = "") const {
    Report r = MakeReport(pr, ReportKind::kQueued, reason);
    r.actor = actor;
    if (const Entry* e = FindEntry(pr)) {
      r.head_sha = e->head_sha;
      r.priority = e->priority;
    }
    r.position = WaitingPosition(s_, pr);
    if (r.position > 0)
      r.batches_ahead = (r.position + s_.config.target_batch_size - 1) / s_.config.target_batch_size;
    return r;
  }

  static Report Cancelled(PrNumber pr, const CancelCause& cause) {
    Report r = MakeReport(pr, ReportKind::kCancelled, cause.reason);
    r.actor = cause.actor;
    r.head_sha = cause.head_sha;
    return r;
  }

  Entry* FindEntry(PrNumber pr) {
    auto it = s_.entries.find(pr);
    return it == s_.entries.end() ? nullptr : &it->second;
  }
  const Entry* FindEntry(PrNumber pr) const {
    auto it = s_.entries.find(pr);
    return it == s_.entries.end() ? nullptr : &it->second;
  }
  Batch* FindBatch(BatchId id) {
    auto it = s_.batches.find(id);
    return it == s_.batches.end() ? nullptr : &it->second;
  }
  const Batch* FindBatch(BatchId id) const {
    auto it = s_.batches.find(id);
    return it == s_.batches.end() ? nullptr : &it->second;
  }
  size_t IndexInMain(BatchId id) const {
    auto it = std::find(s_.main.begin(), s_.main.end(), id);
    assert(it != s_.main.end());
    return static_cast<size_t>(it - s_.main.begin());
  }

  void Emit(Effect e) { out_.push_back(std::move(e)); }

  // A failing build (git unreachable...) must not spin: wait this long.
  static constexpr Duration kBuildBackoff = 30 * kSecond;

  State& s_;
  Time now_;
  std::vector<Effect>& out_;
};

}  // namespace

void StepInPlace(State& state, const Event& event, Time now, std::vector<Effect>& effects) {
  Machine(state, now, effects).Handle(event);
}

std::vector<Effect> InFlightEffects(const State& s) {
  std::vector<Effect> out;
  for (const auto& [id, b] : s.batches) {
    if (b.state == BatchState::kBuilding) {
      BuildBatch build{id, b.base_sha, s.tip, {}, s.config.merge_method};
      for (PrNumber pr : b.prs) build.entries.push_back({pr, s.entries.at(pr).head_sha});
      out.push_back(std::move(build));
    } else if (b.state == BatchState::kTesting) {
      out.push_back(StartRun{id, b.commit, b.started_at});
    }
  }
  if (s.landing != 0 && s.batches.count(s.landing)) {
    const Batch& b = s.batches.at(s.landing);
    // The landing expected the base of the front batch it covers.
    const Batch& front = b.kind == BatchKind::kMain ? s.batches.at(s.main.front()) : b;
    out.push_back(Land{b.id, b.commit, front.base_sha, PrsLandingWith(s, b.id)});
  }
  if (s.timer_at != 0) out.push_back(ArmTimer{s.timer_at});
  return out;
}

bool IsInFlightKind(const Effect& e) {
  return std::holds_alternative<BuildBatch>(e) || std::holds_alternative<StartRun>(e) ||
         std::holds_alternative<Land>(e) || std::holds_alternative<ArmTimer>(e);
}

StepResult Step(const State& state, const Event& event, Time now) {
  StepResult r{state, {}};
  StepInPlace(r.state, event, now, r.effects);
  return r;
}

}  // namespace mergeyard::queue
