#pragma once
// The Oracle of performance.md §6: it knows which pull requests are bad, and
// of each pair that fails together (ScenarioPr::fails_with) the later one, and
// drops them at enqueue, then batches the good ones by the same formation rule
// (target size, max wait) with the same concurrency and CI durations; every
// batch passes and batches land in order. No real queue can do better, so
// policies are reported as ratios to it.

#include "sim/scenario.h"
#include "sim/simulator.h"

namespace mergeyard::sim {

SimResult SimulateOracle(const Scenario& scenario);

}  // namespace mergeyard::sim
