#include "common/json_fields.h"

#include <set>
#include <vector>

namespace gridsearch {
namespace {

using json = nlohmann::json;

// Where the parser is: one frame per open object or array.
struct Frame {
  bool array = false;
  std::set<std::string> keys;  // an object's keys so far
  std::string key;             // an object's current key
  size_t index = 0;            // an array's current element
};

struct DuplicateKey {
  std::string path;
};

std::string PathOf(const std::vector<Frame>& frames) {
  std::string path;
  for (const Frame& f : frames) {
    if (f.array)
      path += "[" + std::to_string(f.index) + "]";
    else
      path += (path.empty() ? "" : ".") + f.key;
  }
  return path;
}

}  // namespace

Status ParseJsonNoDuplicateKeys(const std::string& text, json* out) {
  std::vector<Frame> frames;
  // An element of an array is done: the next one gets the next index.
  auto element_done = [&frames] {
    if (!frames.empty() && frames.back().array) ++frames.back().index;
  };
  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames.push_back(Frame());
        break;
      case json::parse_event_t::array_start:
        frames.push_back(Frame());
        frames.back().array = true;
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) throw DuplicateKey{PathOf(frames)};
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    *out = json::parse(text, callback);
  } catch (const DuplicateKey& d) {
    return Status::InvalidArgument(d.path + ": given twice in the same object (JSON would keep "
                                            "only the last value)");
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers beyond double (1e999).
    return Status::InvalidArgument(std::string("not valid JSON: ") + e.what());
  }
  return Status::OK();
}

}  // namespace gridsearch
