// Who is calling: the account (or client address) a request is limited as, with the plan
// limits in force for it. Immutable once built; shared between the requests that use it.
#pragma once

#include <cstdint>
#include <string>

#include "policy/plan.h"
#include "store/account_store.h"

namespace gw::decision {

struct Caller {
  std::string account_id;  // empty for anonymous callers
  store::KeyEnvironment environment = store::KeyEnvironment::live;
  bool anonymous = false;
  std::string subject;  // counter subject: "<account>:live", "<account>:test", "ip:<addr>"
  std::uint64_t subject_hash = 0;  // store::hash_subject(subject), computed once
  std::string plan_name;           // the plan whose limits apply ("free" for test keys)
  policy::PlanLimits limits;
};

}  // namespace gw::decision
