// The one exception type of ns_model: a user-caused problem (bad file, bad config, wrong shape).
// The message names the file or field and what is wrong with it.
#pragma once

#include <stdexcept>

namespace ns::model {

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ns::model
