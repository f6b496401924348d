#include "common/train_job.h"

#include <nlohmann/json.hpp>

#include "common/json_fields.h"

#include <vector>

namespace gridsearch {

using json = nlohmann::json;

Status ParseTrainJob(const std::string& text, TrainJob* out) {
  *out = TrainJob();
  json j;
  Status parsed = ParseJsonNoDuplicateKeys(text, &j);
  if (!parsed.ok())
    return parsed.message().rfind("not valid JSON", 0) == 0
               ? Status::InvalidArgument("job is " + parsed.message())
               : parsed;
  if (!j.is_object()) return Status::InvalidArgument("job: expected a JSON object");
  if (j.contains("device")) {
    if (!j["device"].is_string())
      return Status::InvalidArgument("device: expected a string such as \"cpu\" or \"cuda:0\"");
    out->device = j["device"].get<std::string>();
    j.erase("device");
  }
  if (j.contains("seed")) {
    if (j.contains("seeds")) return Status::InvalidArgument("seed: give seed or seeds, not both");
    j["seeds"] = json::array({j["seed"]});
    j.erase("seed");
  }
  if (!j.contains("name")) j["name"] = "train";

  // The rest is a sweep spec: same fields, same checks, same messages.
  SpecLimits limits;
  limits.max_jobs = 1 << 20;  // the count is checked below, with a better message
  GS_RETURN_IF_ERROR(ParseSweepSpec(j.dump(), limits, &out->spec));
  const int64_t configs = CountConfigurations(out->spec);
  const size_t seeds = out->spec.seeds.size();
  if (configs != 1 || seeds != 1)
    return Status::InvalidArgument(
        "a train job is one configuration and one seed, but this one expands to " +
        std::to_string(configs) + " configuration(s) x " + std::to_string(seeds) +
        " seed(s): give one optimizer, one value per parameter and one seed");
  const std::vector<GridPoint> points = ExpandGrid(out->spec);
  return MakeJobSpec(out->spec, points[0].optimizer, points[0].params_json, out->spec.seeds[0],
                     &out->job);
}

}  // namespace gridsearch
