// Class-stratified, nested subsets of a training set, and the validation split held out from it.
//
// One seeded permutation per class, interleaved so that every prefix holds the classes in proportion
// (the j-th example of a class with N_c examples sits at position (j + 1/2) / N_c). The validation split
// is the first val_count examples of that order; a training subset of m examples is the next m. Hence:
//   - the same (size, seed) always gives the same subset;
//   - for one seed, a smaller subset is contained in every larger one (nested across fractions);
//   - training subsets never overlap the validation split, which is the same for every size.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace scalelab {

struct SubsetRequest {
  std::optional<double> fraction;     // of the examples left after the validation split, in (0, 1]
  std::optional<std::int64_t> count;  // or an exact number of training examples (not both)
  std::int64_t val_count = 0;
  std::uint64_t seed = 0;
};

struct SplitIndices {
  std::vector<std::int64_t> train;  // in stratified order, not sorted
  std::vector<std::int64_t> val;
};

// Labels in [0, classes). Throws InputError (field data_fraction, data_count or val_count) when the
// request does not fit the data or selects no training example.
SplitIndices stratified_split(const std::vector<std::int64_t>& labels, int classes, const SubsetRequest& request);

// The stratified order itself (it depends only on the labels and the seed): the validation split is
// its first val_count entries, a training subset of m the next m. A worker zygote keeps it per seed,
// so the runs it forks take their split from it (split_of_order) instead of drawing it again.
std::vector<std::int64_t> stratified_order(const std::vector<std::int64_t>& labels, int classes, std::uint64_t seed);
// The split a request takes from an order (stratified_split = split_of_order(stratified_order)).
// Throws InputError like stratified_split.
SplitIndices split_of_order(const std::vector<std::int64_t>& order, const SubsetRequest& request);

// A byte corpus cut into blocks of context+1 bytes (block i: bytes [i (T+1), (i+1)(T+1)); a block's
// inputs are its first T bytes, its labels the last T, so every byte of a block but the first is a
// predicted token). Every test_every-th block (i % test_every == 0) is the test split; the others,
// permuted once with a fixed seed, are the training pool: the trainer's validation split is the first
// val_count blocks of that order and a training subset of m blocks the next m, so subsets are nested
// and spread over the whole corpus (a dictionary is alphabetical: a prefix of the text would be the As).
struct ByteBlocks {
  std::vector<std::int64_t> pool;  // block indices of the training pool, in its fixed order
  std::vector<std::int64_t> test;  // block indices of the test split, ascending
  std::int64_t blocks = 0;         // whole blocks in the corpus (a shorter tail is dropped)
};
ByteBlocks split_byte_blocks(std::int64_t corpus_bytes, int context, int test_every, std::uint64_t order_seed);

// Training examples a request selects from n examples, without the labels (for reporting m up front).
std::int64_t subset_size(std::int64_t n, const SubsetRequest& request);

}  // namespace scalelab
