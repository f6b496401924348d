// Rendering of rankings and sweep summaries for the terminal and for tools:
// table (aligned text), markdown, csv and json.
#ifndef GRIDSEARCH_COORDINATOR_FORMAT_H_
#define GRIDSEARCH_COORDINATOR_FORMAT_H_

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "coordinator/job_store.h"
#include "coordinator/ranking.h"

namespace gridsearch {

bool IsOutputFormat(const std::string& format);

// Renders the first `top` rows (0: all). The JSON form is an array of
// objects, best first: rank, config_id, optimizer, params (object),
// mean_final_train_loss, mean_log_loss_integral, mean_test_accuracy,
// mean_epochs, seeds_done, seeds_total, diverged, failed, incomplete.
// Unknown values are null.
std::string FormatRanking(const std::vector<RankedConfigRow>& rows, const std::string& format,
                          size_t top, const std::string& metric);

// `v` as a JSON number, or null when it is not finite (unknown).
nlohmann::json JsonNumberOrNull(double v);

// One sweep's state, counts, throughput and ETA as the JSON object that
// `status --format json` prints and the dashboard's API serves.
nlohmann::json SweepSummaryJson(const SweepSummary& s);
// One sweep's state, counts, throughput and ETA, for `status`.
std::string FormatSweepSummary(const SweepSummary& s, const std::string& format);
std::string FormatSweepList(const std::vector<SweepSummary>& sweeps, const std::string& format);

// "1h02m", "3m05s", "12s".
std::string FormatDuration(double seconds);

// "-" for non-finite values, else %.*g.
std::string FormatNumber(double v, int precision = 4);
// {"lr":0.1,"momentum":0.9} -> "lr=0.1 momentum=0.9"
std::string FormatParams(const std::string& params_json);
std::string FormatCsvField(const std::string& s);
// Aligned columns (or a markdown table); the first row is the header.
std::string RenderTextTable(const std::vector<std::vector<std::string>>& rows, bool markdown);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_FORMAT_H_
