// Reading YAML that people type. yaml-cpp accepts two things that silently change what a file means:
// a key given twice in one map (iteration sees both entries, so a loop over the map keeps the last)
// and a second document after `---` (YAML::Load reads the first and drops the rest). Both are errors
// here, named by file, line and key like every other InputError.
#pragma once

#include <algorithm>
#include <map>
#include <string_view>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include "table/table.h"

namespace scalelab {

// Throws InputError at the second occurrence of any key repeated in a map, at any depth, and at a key
// that is not a plain scalar (`? [a, b]: 1`, which yaml-cpp accepts and as<std::string>() then throws
// on: found by fuzz/fuzz_spec); the field is the key's path (fixed.epochs).
inline void reject_repeated_keys(const YAML::Node& node, const std::string& source, const std::string& path = "") {
  if (node.IsMap()) {
    std::map<std::string, int> first_line;
    for (const auto& item : node) {
      if (!item.first.IsScalar())
        throw InputError(source, item.first.Mark().line + 1, path, "a key must be a plain name, not a list or a map");
      const std::string key = item.first.Scalar();
      const std::string field = path.empty() ? key : path + "." + key;
      {
        const int line = item.first.Mark().line + 1;
        auto [it, fresh] = first_line.emplace(key, line);
        if (!fresh)
          throw InputError(source, line, field,
                           fmt::format("given twice (first on line {}); YAML would keep only one: give it once", it->second));
      }
      reject_repeated_keys(item.second, source, field);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) reject_repeated_keys(item, source, path);
  }
}

// The one document in `text` (a null node when there is none). InputError for invalid YAML, for a
// second document, and for a repeated key.
inline YAML::Node load_one_document(const std::string& text, const std::string& source) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw InputError(source, e.mark.line + 1, "", "not valid YAML: " + e.msg);
  }
  if (documents.size() > 1) {
    int line = documents[1].Mark().line + 1;
    if (line <= 0 || documents[1].IsNull()) {
      // An empty second document has no position of its own: name the '---' line that starts it, the
      // first one after the first document's content (or the second one, if the file opens with one).
      bool content = false, opened = false;
      int n = 0;
      for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string_view row(text.data() + at, end - at);
        ++n;
        if (row.substr(0, 3) == "---") {
          if (content || opened) {
            line = n;
            break;
          }
          opened = true;
        } else if (!row.empty() && row[0] != '#' && row[0] != ' ') {
          content = true;
        }
        at = end + 1;
      }
    }
    throw InputError(source, line, "",
                     fmt::format("{} YAML documents ('---' starts another one); give one", documents.size()));
  }
  YAML::Node root = documents.empty() ? YAML::Node() : documents[0];
  reject_repeated_keys(root, source);
  return root;
}

}  // namespace scalelab
