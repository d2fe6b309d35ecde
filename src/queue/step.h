#pragma once
// The queue state machine (DESIGN.md section 2), pure: no I/O, no clock reads,
// no threads. Everything a queue does is a Step; the Engine persists the new
// state and then carries out the effects, in order.
//
// Rules, in brief (the numbers are DESIGN.md's):
//  1. waiting entries are ordered by priority, enqueue time, arrival;
//  2. while fewer than `concurrency` main batches are building or testing, a
//     batch forms from the first `target_batch_size` waiting entries, or from
//     all of them once the oldest has waited `max_wait` (interaction suspects
//     excepted: see "Interactions" below);
//  3. a batch is built on its speculative base (the batch ahead, or the tip);
//     entries conflicting with the tip are kicked, others return to waiting;
//  4. a passed batch lands (CAS on the tip) once everything ahead has landed;
//     the deepest run of landable batches lands in one move;
//  5-6. a failed batch is bisected at once, or, with pending_failure_depth d,
//     after the d batches behind it finished without one passing (with
//     optimistic_merging, one passing lands it and everything up to it); a
//     singleton's failure counts against it only if the batch it was stacked
//     on had passed, else it is first tested alone without spending a retry;
//  7. bisection halves are tested on the tip, bisection_concurrency at once;
//     a passing half lands if the tip is still its base and no main batch is
//     in flight (landing would discard their runs), else it goes back to the
//     front of the waiting queue once the tip moves;
//  8. cancel / new head rebuilds the batch holding the entry and all behind;
//  9. a target moved by someone else rebuilds every main batch.
// Option `pretest` (QueueConfig): new entries are first tested alone, as
// bisection roots of their own; passes land at once if nothing tests in the
// main queue, else join the main queue at once (Entry::pretested); main
// batches form only from pretested entries, except for `pretest_bypass`
// batches in flight.
//
// Interactions: two pull requests that each pass alone but fail together.
// A failed batch whose two bisection halves both pass names no culprit, and
// when neither half can land (main batches in flight, or the tip moved) both
// go back to the front (rule 7; with pretest, into the main queue at once),
// are batched together again and fail again: for as long as the queue is
// busy, and with pretest even for ever, two such batches keeping each other
// in flight while the tip stands still. So when both halves of a failure that
// counts against its own entries (a bisection node, or a main batch on the
// tip or on a passed batch) pass, the entries of each half become interaction
// suspects of the other's (Entry::apart_from), and rule 2 never puts suspects
// in one batch again: it takes the first `target_batch_size` waiting entries
// that may share a batch, passing over the others, and forms when at least
// `target_batch_size` wait or max_wait is reached, as before. Progress: the
// pair is then tested in different batches, the earlier one's tree without
// its partner, so that one can pass and land; from then on every tree holding
// the other fails, failures never go stale, and bisection kicks it as a
// culprit (after singleton_retries), its message naming the suspect that
// landed. A failure that does not count (stacked on a batch still testing)
// marks no one; its entries are simply tested again. A flake can separate a
// batch's halves the same way, which costs one batch more, not a kick.
//
// Cost: a Step costs what it changes (entries and batches it touches, the
// main queue's length), not the number of entries or bisection nodes: the
// State keeps indexes (StateIndexes) that Step maintains.

#include <vector>

#include "queue/effect.h"
#include "queue/event.h"
#include "queue/types.h"

namespace mergeyard::queue {

struct StepResult {
  State state;
  std::vector<Effect> effects;
};

// Applies `event` at time `now` to a copy of `state`.
StepResult Step(const State& state, const Event& event, Time now);

// The same, in place: changes `state` and appends to `effects`. For callers
// that own the state (the Engine) and must not pay for a copy per event.
void StepInPlace(State& state, const Event& event, Time now, std::vector<Effect>& effects);

// The work a state has in flight, as the effects that asked for it: a
// BuildBatch for every batch building, a StartRun (with its first start
// time) for every batch testing, the Land of the batch landing, and the
// formation timer. After a restart the engine carries these out again; the
// ports treat them idempotently (a build is redone, a run re-attaches, a
// landing already done answers landed).
std::vector<Effect> InFlightEffects(const State& state);

// Whether `effect` is one InFlightEffects re-derives from the state (and so
// need not be replayed from an outbox).
bool IsInFlightKind(const Effect& effect);

}  // namespace mergeyard::queue
