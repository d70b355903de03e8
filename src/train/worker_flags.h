// The worker's hyperparameter flags, one per schema row (store/hparam_schema.h): --data-fraction for
// data_fraction, its --help from the row's help text and default, its value checked against the row's
// range or words when the command line is parsed (exit 2 naming the flag).
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "train/train.h"

namespace scalelab {

// key -> text, for the flags given.
using GivenHparams = std::map<std::string, std::string>;

void add_hparam_flags(CLI::App& app, GivenHparams& given);
// Sets the given flags' members of `config` (over what --config read): a flag given drops its
// alternative (--data-count drops data_fraction); both given is an InputError.
void apply_hparam_flags(const GivenHparams& given, TrainConfig& config);

}  // namespace scalelab
