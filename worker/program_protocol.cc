#include "worker/program_protocol.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/text_escape.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Python's json module writes NaN, Infinity and -Infinity bare, which is
// not JSON; outside strings they become the strings "nan", "inf", "-inf".
std::string QuoteNonFinite(const std::string& line) {
  if (line.find("NaN") == std::string::npos && line.find("Infinity") == std::string::npos)
    return line;
  std::string out;
  out.reserve(line.size() + 8);
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < line.size()) {
        out += line[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (line.compare(i, 3, "NaN") == 0) {
      out += "\"nan\"";
      i += 2;
    } else if (line.compare(i, 9, "-Infinity") == 0) {
      out += "\"-inf\"";
      i += 8;
    } else if (line.compare(i, 8, "Infinity") == 0) {
      out += "\"inf\"";
      i += 7;
    } else {
      out += c;
    }
  }
  return out;
}

// A number, or a non-finite one written as null / "nan" / "inf" / "-inf".
Status LossValue(const json& v, const std::string& field, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return Status::OK();
  }
  if (v.is_null()) {
    *out = kNaN;
    return Status::OK();
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan" || s == "NaN") *out = kNaN;
    else if (s == "inf" || s == "Infinity") *out = std::numeric_limits<double>::infinity();
    else if (s == "-inf" || s == "-Infinity") *out = -std::numeric_limits<double>::infinity();
    else return Status::InvalidArgument(field + " must be a number, got \"" +
                                        EscapeControl(TruncateUtf8(s, 40)) + "\"");
    return Status::OK();
  }
  return Status::InvalidArgument(field + " must be a number");
}

// An optional finite number: absent leaves *out alone.
Status OptionalFinite(const json& obj, const char* key, const std::string& where, bool* has,
                      double* out, double min = -std::numeric_limits<double>::infinity(),
                      double max = std::numeric_limits<double>::infinity()) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_number()) return Status::InvalidArgument(where + ": " + key + " must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < min || v > max)
    return Status::InvalidArgument(where + ": " + key + " is out of range (" +
                                   TruncateUtf8(it->dump(), 40) + ")");
  *out = v;
  if (has != nullptr) *has = true;
  return Status::OK();
}

Status Software(const json& obj, const std::string& where, std::string* out) {
  auto it = obj.find("software");
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_string() || it->get<std::string>().size() > 200)
    return Status::InvalidArgument(where + ": software must be a string of at most 200 characters");
  *out = it->get<std::string>();
  return Status::OK();
}

}  // namespace

Status ParseReportLine(const std::string& line, ReportEvent* event) {
  *event = ReportEvent();
  json j = json::parse(QuoteNonFinite(line), nullptr, false);
  if (j.is_discarded()) {
    const std::string shown = EscapeControl(TruncateUtf8(line, 80));
    return Status::InvalidArgument("not JSON: \"" + shown + (line.size() > 80 ? "...\"" : "\""));
  }
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string())
    return Status::InvalidArgument("not an event: expected an object with an \"event\" string");
  const std::string kind = j["event"].get<std::string>();
  if (kind == "train_start") {
    event->kind = ReportEvent::kTrainStart;
    if (j.contains("protocol")) {
      if (!j["protocol"].is_number_integer() || j["protocol"].get<int64_t>() != kProgramProtocolVersion)
        return Status::InvalidArgument("train_start: protocol " +
                                       EscapeControl(TruncateUtf8(j["protocol"].dump(), 40)) +
                                       " is not supported (this worker speaks protocol " +
                                       std::to_string(kProgramProtocolVersion) + ")");
    }
    return Software(j, "train_start", &event->software);
  }
  if (kind == "heartbeat") {
    event->kind = ReportEvent::kHeartbeat;
    return Status::OK();
  }
  if (kind == "point") {
    event->kind = ReportEvent::kPoint;
    CurvePoint& p = event->point;
    auto step = j.find("step");
    if (step == j.end() || !step->is_number_integer() || step->get<int64_t>() < 1)
      return Status::InvalidArgument("point: step must be a positive integer");
    p.step = step->get<int64_t>();
    auto loss = j.find("loss");
    if (loss == j.end()) return Status::InvalidArgument("point: loss is missing");
    GS_RETURN_IF_ERROR(LossValue(*loss, "point: loss", &p.loss));
    p.learning_rate = kNaN;
    GS_RETURN_IF_ERROR(
        OptionalFinite(j, "elapsed_seconds", "point", &event->has_elapsed, &p.elapsed_seconds, 0));
    GS_RETURN_IF_ERROR(OptionalFinite(j, "epoch", "point", &event->has_epoch, &p.epoch, 0));
    return OptionalFinite(j, "learning_rate", "point", &event->has_learning_rate, &p.learning_rate);
  }
  if (kind == "result") {
    event->kind = ReportEvent::kResult;
    JobResult& r = event->result;
    if (j.contains("final_train_loss")) {
      GS_RETURN_IF_ERROR(LossValue(j["final_train_loss"], "result: final_train_loss",
                                   &r.final_train_loss));
      event->has_final_train_loss = true;
    }
    if (j.contains("test_loss"))
      GS_RETURN_IF_ERROR(LossValue(j["test_loss"], "result: test_loss", &r.test_loss));
    GS_RETURN_IF_ERROR(OptionalFinite(j, "test_accuracy", "result", nullptr, &r.test_accuracy, 0, 1));
    if (j.contains("diverged")) {
      if (!j["diverged"].is_boolean())
        return Status::InvalidArgument("result: diverged must be true or false");
      r.diverged = j["diverged"].get<bool>();
    }
    return Software(j, "result", &event->software);
  }
  return Status::InvalidArgument("unknown event \"" + EscapeControl(TruncateUtf8(kind, 40)) +
                                 "\" (known: train_start, point, result, heartbeat)");
}

}  // namespace gridsearch
