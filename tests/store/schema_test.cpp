// The hyperparameter schema (store/hparam_schema.h) is the one list of keys: docs/run-directory.md's table
// must be the table it generates, and its defaults are what run ids leave out.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "store/hparam_schema.h"
#include "models/spec.h"
#include "store/hparams.h"
#include "table/table.h"

namespace scalelab {
namespace {

TEST(HparamSchema, DocTableEqualsTheSchema) {
  const std::string doc = read_file(std::string(SCALELAB_SOURCE_DIR) + "/docs/run-directory.md");
  const std::string table = hparam_doc_table();
  EXPECT_NE(doc.find(table), std::string::npos)
      << "docs/run-directory.md's hyperparameter table differs from the schema; replace it with:\n" << table;
}

TEST(HparamSchema, RowsAreWellFormed) {
  std::set<std::string_view> names;
  for (const auto& row : hparam_schema()) {
    EXPECT_TRUE(hparam_name_problem(row.name).empty()) << row.name;
    EXPECT_TRUE(names.insert(row.name).second) << row.name << " twice";
    EXPECT_EQ(find_hparam(row.name), &row);
    if (!row.alternative.empty()) {
      ASSERT_NE(find_hparam(row.alternative), nullptr) << row.name;
      EXPECT_EQ(find_hparam(row.alternative)->alternative, row.name);
    }
    if (row.default_value.empty()) continue;
    // A default is in its own range, and already in Hparams' canonical text.
    if (row.type == HparamRow::word) {
      EXPECT_EQ(hparam_word_problem(row, row.default_value), "") << row.name;
    } else {
      EXPECT_EQ(hparam_number_problem(row, hparam_default_number(row.name), kMaxWhole), "") << row.name;
    }
  }
  EXPECT_EQ(find_hparam("threads"), nullptr);  // not a hyperparameter: it changes speed, not results
  EXPECT_EQ(hparam_flag(*find_hparam("data_fraction")), "--data-fraction");
}

// The model row's words are the family registry's: a family added there is accepted by specs, flags and
// hparams.yaml with no edit here, and the schema's default is the registry's default family.
TEST(HparamSchema, ModelWordsAreTheFamilyRegistry) {
  const HparamRow& model = *find_hparam("model");
  EXPECT_EQ(hparam_words(model), model_family_names());
  EXPECT_EQ(model.default_value, default_model_family());
  for (const auto& family : model_family_names()) EXPECT_EQ(hparam_word_problem(model, family), "") << family;
  EXPECT_NE(hparam_word_problem(model, "not-a-family").find("is not one of"), std::string::npos);
}

}  // namespace
}  // namespace scalelab
