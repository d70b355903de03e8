#include "data/subset.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/core.h>

#include "table/table.h"

namespace scalelab {
namespace {

// Uniform integer in [0, n) by rejection: std::uniform_int_distribution and std::shuffle are
// implementation-defined, and a subset must not change with the standard library.
std::uint64_t below(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = std::mt19937_64::max() - std::mt19937_64::max() % n;
  for (;;) {
    const std::uint64_t r = rng();
    if (r < limit) return r % n;
  }
}

void check(const SubsetRequest& r) {
  if (r.fraction && r.count)
    throw InputError("hparams", 0, "data_fraction", "give data_fraction or data_count, not both");
  if (r.fraction && !(*r.fraction > 0 && *r.fraction <= 1))
    throw InputError("hparams", 0, "data_fraction", fmt::format("{} is not in (0, 1]", *r.fraction));
  if (r.count && *r.count < 1)
    throw InputError("hparams", 0, "data_count", fmt::format("{} is not a positive count", *r.count));
  if (r.val_count < 0)
    throw InputError("hparams", 0, "val_count", fmt::format("{} is negative", r.val_count));
}

}  // namespace

std::int64_t subset_size(std::int64_t n, const SubsetRequest& request) {
  check(request);
  const std::int64_t pool = n - request.val_count;
  if (pool < 1)
    throw InputError("hparams", 0, "val_count",
                     fmt::format("val_count {} leaves no training examples of {}", request.val_count, n));
  std::int64_t m = pool;
  if (request.fraction) m = std::llround(*request.fraction * double(pool));
  if (request.count) m = *request.count;
  if (m > pool)
    throw InputError("hparams", 0, "data_count",
                     fmt::format("{} training examples asked, {} available after {} for validation", m, pool,
                                 request.val_count));
  if (m < 1)
    throw InputError("hparams", 0, "data_fraction",
                     fmt::format("fraction {} of {} examples selects none", request.fraction.value_or(1), pool));
  return m;
}

std::vector<std::int64_t> stratified_order(const std::vector<std::int64_t>& labels, int classes, std::uint64_t seed) {
  const auto n = static_cast<std::int64_t>(labels.size());
  std::vector<std::vector<std::int64_t>> by_class(classes);
  for (std::int64_t i = 0; i < n; ++i) by_class.at(labels[i]).push_back(i);

  std::mt19937_64 rng(seed);
  struct Slot {
    double key;
    int cls;
    std::int64_t index;
  };
  std::vector<Slot> slots;
  slots.reserve(n);
  for (int c = 0; c < classes; ++c) {
    auto& members = by_class[c];
    for (std::size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[below(rng, i)]);
    const double size = double(members.size());
    for (std::size_t j = 0; j < members.size(); ++j) slots.push_back({(double(j) + 0.5) / size, c, members[j]});
  }
  std::sort(slots.begin(), slots.end(),
            [](const Slot& a, const Slot& b) { return a.key != b.key ? a.key < b.key : a.cls < b.cls; });
  std::vector<std::int64_t> order;
  order.reserve(n);
  for (const auto& slot : slots) order.push_back(slot.index);
  return order;
}

SplitIndices split_of_order(const std::vector<std::int64_t>& order, const SubsetRequest& request) {
  const std::int64_t m = subset_size(static_cast<std::int64_t>(order.size()), request);
  SplitIndices split;
  split.val.assign(order.begin(), order.begin() + request.val_count);
  split.train.assign(order.begin() + request.val_count, order.begin() + request.val_count + m);
  return split;
}

SplitIndices stratified_split(const std::vector<std::int64_t>& labels, int classes, const SubsetRequest& request) {
  subset_size(static_cast<std::int64_t>(labels.size()), request);  // a bad request fails before any work
  return split_of_order(stratified_order(labels, classes, request.seed), request);
}

ByteBlocks split_byte_blocks(std::int64_t corpus_bytes, int context, int test_every, std::uint64_t order_seed) {
  if (context < 1 || test_every < 2 || corpus_bytes < 0)
    throw std::invalid_argument("split_byte_blocks: context >= 1, test_every >= 2, corpus_bytes >= 0");
  ByteBlocks split;
  split.blocks = corpus_bytes / (context + 1);
  for (std::int64_t i = 0; i < split.blocks; ++i) (i % test_every == 0 ? split.test : split.pool).push_back(i);
  std::mt19937_64 rng(order_seed);
  auto& pool = split.pool;
  for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[below(rng, i)]);
  return split;
}

}  // namespace scalelab
