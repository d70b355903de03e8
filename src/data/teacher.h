// The teacher networks of the teacher-student datasets (docs/theory.md): each dataset's labels are its
// teacher's outputs on its inputs (regression) or their argmax (classification). Exposed so that a
// student can start from its teacher (tests: the realizable case has zero error there).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "models/models.h"

namespace scalelab {

// The teacher's architecture: an `mlp` of the dataset's input shape and outputs, so a student of this
// spec is the teacher's own family and size (the realizable case).
std::optional<ModelSpec> teacher_spec(std::string_view dataset);

// The teacher of a teacher-student dataset, built and initialised from its fixed seed: every weight
// N(0, 2 / fan_in) in the hidden layers and N(0, 1 / fan_in) in the output layer (He), every bias
// N(0, 0.1^2). Always the same network. nullptr for datasets without a teacher.
std::shared_ptr<ClassifierImpl> teacher_network(std::string_view dataset);

}  // namespace scalelab
