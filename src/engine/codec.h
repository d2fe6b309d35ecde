#pragma once
// JSON encoding of queue states, events and effects: what the store persists
// and the API shows. Decoding reports malformed input as an error value.

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "queue/effect.h"
#include "queue/event.h"
#include "queue/types.h"

namespace mergeyard::engine {

nlohmann::json StateToJson(const queue::State& state);
Result<queue::State> StateFromJson(const nlohmann::json& j);

nlohmann::json EffectToJson(const queue::Effect& effect);
Result<queue::Effect> EffectFromJson(const nlohmann::json& j);

nlohmann::json EventToJson(const queue::Event& event);
Result<queue::Event> EventFromJson(const nlohmann::json& j);

nlohmann::json ConfigToJson(const queue::QueueConfig& config);
nlohmann::json BatchToJson(const queue::Batch& batch);

}  // namespace mergeyard::engine
