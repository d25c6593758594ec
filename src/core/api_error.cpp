#include "core/api_error.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace gw::core {

std::string to_json(const ApiError& e) {
  boost::json::object inner;
  inner["type"] = e.type;
  inner["code"] = e.code;
  inner["message"] = e.message;
  inner["param"] = e.param ? boost::json::value(*e.param) : boost::json::value(nullptr);
  if (e.retry_after_s) inner["retry_after"] = *e.retry_after_s;
  inner["request_id"] = e.request_id;
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace gw::core
