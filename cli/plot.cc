#include "cli/plot.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/text_escape.h"
#include "coordinator/format.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

Status FetchJson(const TableFetcher& fetch, TableRequest req, json* out) {
  req.format = "json";
  std::string text;
  GS_RETURN_IF_ERROR(fetch(req, &text));
  *out = json::parse(text, nullptr, false);
  if (out->is_discarded()) return Status::Internal("the " + req.kind + " export is not JSON");
  return Status::OK();
}

// A gnuplot string: a control character (a newline would end the command
// and start another) is written out first.
std::string Quote(const std::string& raw) {
  const std::string s = EscapeControl(raw);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string SeriesTitle(const json& series) {
  std::string params;
  if (series.contains("params") && series["params"].is_object())
    params = FormatParams(series["params"].dump());
  return series["optimizer"].get<std::string>() + (params.empty() ? "" : " (" + params + ")");
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) return Status::IOError("cannot write " + path);
  return Status::OK();
}

// Runs gnuplot on `script`; its error output comes back in the Status.
Status RunGnuplot(const std::string& gnuplot, const std::string& script) {
  std::string log = script + ".log";
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    execlp(gnuplot.c_str(), gnuplot.c_str(), script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return Status::FailedPrecondition(
        "gnuplot is not installed; install it with: sudo apt-get install gnuplot-nox");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(log);
    std::stringstream err;
    err << in.rdbuf();
    return Status::Internal("gnuplot failed on " + script + ": " + err.str());
  }
  std::remove(log.c_str());
  return Status::OK();
}

// The common head of every script, and the two outputs.
std::string Script(const std::string& base, const std::string& body) {
  std::ostringstream os;
  os << "set terminal pngcairo size 1100,700 noenhanced font \",11\"\n"
     << "set output " << Quote(base + ".png") << "\n"
     << body << "\n"
     << "set terminal svg size 1100,700 noenhanced font \",11\" background rgb \"white\"\n"
     << "set output " << Quote(base + ".svg") << "\n"
     << "replot\n";
  return os.str();
}

// Curves (mean line, min-max band) from a curves export; one data block per series.
Status CurvePlot(const json& curves, const std::string& base, const std::string& title,
                 const std::string& ylabel, bool log_y, const std::string& gnuplot) {
  std::ostringstream data;
  std::vector<std::string> titles;
  for (const auto& series : curves["curves"]) {
    if (series["bins"].empty()) continue;
    data << "# " << SeriesTitle(series) << "\n";
    for (const auto& b : series["bins"]) {
      if (b["mean"].is_null()) continue;
      if (log_y && !(b["min"].get<double>() > 0)) continue;
      data << b["time_seconds"].get<double>() << " " << b["mean"].get<double>() << " "
           << b["min"].get<double>() << " " << b["max"].get<double>() << "\n";
    }
    data << "\n\n";
    titles.push_back(SeriesTitle(series));
  }
  if (titles.empty()) return Status::FailedPrecondition("no finished job has curve points yet");
  GS_RETURN_IF_ERROR(WriteFile(base + ".dat", data.str()));
  std::ostringstream body;
  body << "set title " << Quote(title) << "\n"
       << "set xlabel \"training time [s]\"\n"
       << "set ylabel " << Quote(ylabel) << "\n"
       << (log_y ? "set logscale y\n" : "") << "set grid\nset key below\n"
       << "plot ";
  for (size_t i = 0; i < titles.size(); ++i) {
    body << (i ? ", \\\n     " : "") << Quote(base + ".dat") << " index " << i
         << " using 1:3:4 with filledcurves fillstyle transparent solid 0.2 noborder lc " << i + 1
         << " notitle, " << Quote(base + ".dat") << " index " << i
         << " using 1:2 with lines linewidth 2 lc " << i + 1 << " title " << Quote(titles[i]);
  }
  GS_RETURN_IF_ERROR(WriteFile(base + ".gp", Script(base, body.str())));
  return RunGnuplot(gnuplot, base + ".gp");
}

}  // namespace

Status WritePlots(const TableFetcher& fetch, const PlotOptions& options,
                  std::vector<std::string>* written, std::vector<std::string>* notes) {
  if (mkdir(options.out_dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::IOError("cannot create " + options.out_dir);
  const std::string dir = options.out_dir + "/";
  const bool loss_metric = options.metric != "test_accuracy";

  // (a) Loss curves of each optimizer's best configuration.
  TableRequest curves_req;
  curves_req.kind = "curves";
  curves_req.metric = options.metric;
  curves_req.bins = options.bins;
  json curves;
  GS_RETURN_IF_ERROR(FetchJson(fetch, curves_req, &curves));
  GS_RETURN_IF_ERROR(CurvePlot(curves, dir + "loss_curves",
                               "Training loss of each optimizer's best configuration "
                               "(mean and min-max over seeds)",
                               "training loss (batch, log scale)", true, options.gnuplot));
  written->push_back(dir + "loss_curves.png");
  written->push_back(dir + "loss_curves.svg");

  // (b) Box plots of every configuration's mean metric, and of each optimizer's best 25%.
  TableRequest results_req;
  results_req.kind = "results";
  results_req.metric = options.metric;
  results_req.top = 0;
  json results;
  GS_RETURN_IF_ERROR(FetchJson(fetch, results_req, &results));
  const std::string key = "mean_" + options.metric;
  std::map<std::string, std::vector<double>> values;  // sorted best first (results order)
  int64_t diverged = 0;
  for (const auto& r : results) {
    if (r["diverged"].get<int64_t>() > 0) {
      ++diverged;
      continue;
    }
    if (!r[key].is_number()) continue;
    values[r["optimizer"].get<std::string>()].push_back(r[key].get<double>());
  }
  if (!values.empty()) {
    std::ostringstream data, xtics;
    int k = 0;
    for (auto& [opt, v] : values) {
      size_t best = std::max<size_t>(1, (v.size() + 3) / 4);
      data << "# " << opt << ": all " << v.size() << " configurations\n";
      for (double x : v) data << x << "\n";
      data << "\n\n# " << opt << ": best " << best << "\n";
      for (size_t i = 0; i < best; ++i) data << v[i] << "\n";
      data << "\n\n";
      xtics << (k ? ", " : "") << Quote(opt + " (" + std::to_string(v.size()) + ")") << " " << k + 1;
      ++k;
    }
    const std::string base = dir + "final_loss_boxplot";
    GS_RETURN_IF_ERROR(WriteFile(base + ".dat", data.str()));
    std::ostringstream body;
    std::string ylabel = "mean " + options.metric + " over seeds" + (loss_metric ? " (log scale)" : "");
    body << "set style data boxplot\nset style boxplot outliers pointtype 7\n"
         << "set style fill solid 0.3 border -1\nset boxwidth 0.5\nset grid ytics\n"
         << "set xtics (" << xtics.str() << ")\nset xrange [0.3:" << k + 0.7 << "]\n"
         << (loss_metric ? "set logscale y\n" : "") << "set ylabel " << Quote(ylabel) << "\n"
         << "set multiplot layout 1,2 title "
         << Quote("Mean " + options.metric + " of each configuration" +
                  (diverged ? " (" + std::to_string(diverged) + " diverged configurations left out)"
                            : ""))
         << "\n"
         << "set title \"all configurations\"\n"
         << "plot for [i=0:" << k - 1 << "] " << Quote(base + ".dat")
         << " index 2*i using (i+1):1 lc i+1 notitle\n"
         << "set title \"best 25% of each optimizer\"\n"
         << "plot for [i=0:" << k - 1 << "] " << Quote(base + ".dat")
         << " index 2*i+1 using (i+1):1 lc i+1 notitle\n"
         << "unset multiplot\n";
    // Multiplot does not replot: write each terminal's output in full.
    std::string script = "set terminal pngcairo size 1100,600 noenhanced font \",11\"\nset output " +
                         Quote(base + ".png") + "\n" + body.str() +
                         "set terminal svg size 1100,600 noenhanced font \",11\" background rgb \"white\"\n"
                         "set output " + Quote(base + ".svg") + "\n" + body.str();
    GS_RETURN_IF_ERROR(WriteFile(base + ".gp", script));
    GS_RETURN_IF_ERROR(RunGnuplot(options.gnuplot, base + ".gp"));
    written->push_back(base + ".png");
    written->push_back(base + ".svg");
  } else {
    notes->push_back("no finished configuration yet: final_loss_boxplot not drawn");
  }

  // (c) PAL's effective learning rate, for its best configuration.
  bool has_pal = false;
  for (const auto& r : results)
    if (r["optimizer"] == "pal" && !r["rank"].is_null()) has_pal = true;
  if (has_pal) {
    json pal_curves;
    TableRequest lr_req = curves_req;
    lr_req.column = "learning_rate";
    GS_RETURN_IF_ERROR(FetchJson(fetch, lr_req, &pal_curves));
    json only = {{"curves", json::array()}};
    for (const auto& s : pal_curves["curves"])
      if (s["optimizer"] == "pal") only["curves"].push_back(s);
    Status s = CurvePlot(only, dir + "pal_learning_rate",
                         "PAL's effective learning rate s_upd/|d| of its best configuration "
                         "(mean and min-max over seeds)",
                         "effective learning rate (log scale)", true, options.gnuplot);
    if (s.ok()) {
      written->push_back(dir + "pal_learning_rate.png");
      written->push_back(dir + "pal_learning_rate.svg");
    } else if (s.code() == Status::kFailedPrecondition) {
      notes->push_back("PAL recorded no learning rates: pal_learning_rate not drawn");
    } else {
      return s;
    }
  } else {
    notes->push_back("the sweep has no finished PAL configuration: pal_learning_rate not drawn");
  }
  return Status::OK();
}

}  // namespace gridsearch
