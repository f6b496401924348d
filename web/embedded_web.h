// The dashboard's files, embedded in the binary at build time (web/*.html,
// *.js, *.css, and Chart.js from Debian's libjs-chart.js): name, contents.
#ifndef GRIDSEARCH_WEB_EMBEDDED_WEB_H_
#define GRIDSEARCH_WEB_EMBEDDED_WEB_H_

#include <string>
#include <utility>
#include <vector>

namespace gridsearch {

const std::vector<std::pair<std::string, std::string>>& DashboardFiles();
const std::vector<std::pair<std::string, std::string>>& ChartJsFiles();

}  // namespace gridsearch

#endif  // GRIDSEARCH_WEB_EMBEDDED_WEB_H_
