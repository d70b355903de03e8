// Reading YAML that people type. yaml-cpp accepts two things that silently change what a file means:
// a key given twice in one map (iteration sees both entries, so a loop over the map keeps the last)
// and a second document after `---` (YAML::Load reads the first and drops the rest). Both are errors
// here, named by file, line and key like every other InputError.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <yaml-cpp/eventhandler.h>
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

// Where each document of a YAML stream starts (its first token, '---' when it has one) and where its
// content starts (none for an empty document), without building them.
class DocumentStarts : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start;
    std::optional<YAML::Mark> content;
  };
  std::vector<Document> documents;
  void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, std::nullopt}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { content(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content(mark);
  }
  void OnMapEnd() override {}

 private:
  void content(const YAML::Mark& mark) {
    if (!documents.empty() && !documents.back().content) documents.back().content = mark;
  }
};

// The one document in `text` (a null node when there is none). InputError for invalid YAML, for a
// second document (named at its content's line, or at its '---' when it is empty), and for a repeated
// key.
//
// Not YAML::LoadAll: in yaml-cpp 0.7 (Debian 12) it loops forever, adding a null document each turn,
// on a token no rule consumes (a lone ',' is enough; upstream issue 1040). fuzz_hparams found the hang
// and fuzz_spec the memory it eats. The parser is driven by hand instead, for at most three
// documents: one that starts where the previous one started consumed nothing, which is that bug, and
// is reported as invalid YAML.
inline YAML::Node load_one_document(const std::string& text, const std::string& source) {
  YAML::Node root;
  DocumentStarts starts;
  try {
    root = YAML::Load(text);
    std::istringstream in(text);
    YAML::Parser parser(in);
    for (int i = 0; i < 3 && parser.HandleNextDocument(starts); ++i) {
      const auto& docs = starts.documents;
      if (docs.size() >= 2 && docs[docs.size() - 1].start.pos == docs[docs.size() - 2].start.pos) {
        const auto& at = docs.back().start;
        throw InputError(source, at.line + 1, "", fmt::format("not valid YAML: unexpected text at column {}", at.column + 1));
      }
    }
  } catch (const YAML::Exception& e) {
    throw InputError(source, e.mark.line + 1, "", "not valid YAML: " + e.msg);
  }
  if (starts.documents.size() > 1) {
    const auto& second = starts.documents[1];
    int line = (second.content ? *second.content : second.start).line + 1;
    throw InputError(source, line, "",
                     fmt::format("{} YAML documents ('---' starts another one); give one",
                                 starts.documents.size() > 2 ? "3 or more" : "2"));
  }
  reject_repeated_keys(root, source);
  return root;
}

}  // namespace scalelab
