// The papers' figures for a sweep, drawn with gnuplot (no display needed):
// - loss_curves: mean training loss over time of each optimizer's best
//   configuration, log y-axis, min-max band over seeds (PAL 2019 Figure 2);
// - final_loss_boxplot: box plots of the configurations' mean final metric,
//   over all configurations and over the best 25% per optimizer (Figures 2, 6);
// - pal_learning_rate: PAL's effective learning rate over time for its best
//   configuration (PAL 2020 Figure 5, row 4), when the sweep has PAL.
// Each figure is written as PNG and SVG, beside its .dat data and .gp script.
#ifndef GRIDSEARCH_CLI_PLOT_H_
#define GRIDSEARCH_CLI_PLOT_H_

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/tables.h"

namespace gridsearch {

// Renders a table request (locally or through the coordinator).
using TableFetcher = std::function<Status(const TableRequest&, std::string*)>;

struct PlotOptions {
  std::string out_dir;
  std::string metric = "final_train_loss";  // ranks the "best" configurations
  int bins = 100;
  std::string gnuplot = "gnuplot";
};

// Writes the figures; `written` receives the image paths. FailedPrecondition
// with install advice when gnuplot is missing.
Status WritePlots(const TableFetcher& fetch, const PlotOptions& options,
                  std::vector<std::string>* written, std::vector<std::string>* notes);

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_PLOT_H_
