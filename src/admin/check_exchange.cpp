#include "admin/check_exchange.h"

#include <fmt/format.h>

#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <optional>

#include "core/json_text.h"
#include "decision/check_answer_fields.h"
#include "limiter/limit_bounds.h"

namespace gw::admin {
namespace {

using decision::CheckQuery;
using decision::LimitSelector;

constexpr std::string_view kNotAnObject = "The request body must be a JSON object.";

// The members a check body may have, in the order their errors are reported.
constexpr std::size_t kApiKey = 0;
constexpr std::size_t kMethod = 1;
constexpr std::size_t kPath = 2;
constexpr std::size_t kCost = 3;
constexpr std::array<std::string_view, 4> kMemberNames = {"api_key", "method", "path", "cost"};

struct MemberValue {
  enum class Kind { absent, string, int64, null, other };
  Kind kind = Kind::absent;
  std::string text;  // Kind::string
  std::int64_t number = 0;  // Kind::int64
};

// Boost.JSON's parser events (basic_parser's Handler) for a check body: the top-level
// members are kept as they go by, and nothing else. Reading the body this way, rather than
// into a DOM first, halves what reading it costs (callgrind). Syntax errors are the
// parser's; what the members hold is judged by read_check_body once the whole text parsed,
// so a body's errors come in the order a DOM would give them. A known member given twice
// is an error (a DOM would keep the last, another reader maybe the first).
class CheckBodyEvents {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool is_object() const { return root_is_object_; }
  const std::optional<std::string>& unknown() const { return unknown_; }
  const std::optional<std::size_t>& repeated() const { return repeated_; }
  MemberValue& member(std::size_t index) { return members_[index]; }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    if (depth_ == 0) root_is_object_ = true;
    value_is(MemberValue::Kind::other);
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(boost::system::error_code&) {
    value_is(MemberValue::Kind::other);
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(std::string_view part, std::size_t, boost::system::error_code&) {
    if (depth_ == 1) key_ += part;
    return true;
  }
  bool on_key(std::string_view part, std::size_t, boost::system::error_code&) {
    if (depth_ != 1) return true;
    key_ += part;
    current_ = kNoMember;
    for (std::size_t i = 0; i < kMemberNames.size(); ++i) {
      if (key_ == kMemberNames[i]) current_ = i;
    }
    if (current_ == kNoMember) {
      if (!unknown_) unknown_ = key_;
    } else if (members_[current_].kind != MemberValue::Kind::absent && !repeated_) {
      repeated_ = current_;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(std::string_view part, std::size_t, boost::system::error_code&) {
    if (MemberValue* value = value_is(MemberValue::Kind::string)) value->text += part;
    return true;
  }
  bool on_string(std::string_view part, std::size_t, boost::system::error_code&) {
    if (MemberValue* value = value_is(MemberValue::Kind::string)) value->text += part;
    current_ = kNoMember;
    return true;
  }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t number, std::string_view, boost::system::error_code&) {
    if (MemberValue* value = value_is(MemberValue::Kind::int64)) value->number = number;
    current_ = kNoMember;
    return true;
  }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) {
    return scalar(MemberValue::Kind::other);  // beyond int64
  }
  bool on_double(double, std::string_view, boost::system::error_code&) {
    return scalar(MemberValue::Kind::other);
  }
  bool on_bool(bool, boost::system::error_code&) { return scalar(MemberValue::Kind::other); }
  bool on_null(boost::system::error_code&) { return scalar(MemberValue::Kind::null); }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

 private:
  static constexpr std::size_t kNoMember = kMemberNames.size();

  // The member a value at the top level of the root object belongs to, now of `kind`;
  // nullptr for any other value (nested, or of an unknown member).
  MemberValue* value_is(MemberValue::Kind kind) {
    if (depth_ != 1 || current_ == kNoMember) return nullptr;
    MemberValue& value = members_[current_];
    value.kind = kind;
    if (kind == MemberValue::Kind::other) current_ = kNoMember;  // a container: done with it
    return &value;
  }
  bool scalar(MemberValue::Kind kind) {
    value_is(kind);
    current_ = kNoMember;
    return true;
  }

  std::size_t depth_ = 0;
  bool root_is_object_ = false;
  std::string key_;
  std::size_t current_ = kNoMember;
  std::array<MemberValue, 4> members_;
  std::optional<std::string> unknown_;
  std::optional<std::size_t> repeated_;
};

void append_number_or_null(std::string& out, const std::optional<std::int64_t>& value) {
  if (value) {
    core::append_decimal(out, *value);
  } else {
    out += "null";
  }
}

// The header fields, as a JSON object of strings (header values are strings).
struct HeaderObject {
  std::string& out;
  bool first = true;

  // A field name is a token (RFC 9110 §5.1), whose characters need no JSON escape.
  void name(std::string_view field_name) {
    out += first ? "\"" : ",\"";
    first = false;
    out += field_name;
    out += "\":";
  }
  void field(std::string_view field_name, std::int64_t value) {
    name(field_name);
    out += '"';
    core::append_decimal(out, value);
    out += '"';
  }
  void field(std::string_view field_name, std::string_view value) {
    name(field_name);
    core::append_json_string(out, value);
  }
};

}  // namespace

core::Result<CheckQuery, CheckBodyError> read_check_body(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return core::unexpected(CheckBodyError{std::string(kNotAnObject), std::nullopt});
  }
  boost::json::basic_parser<CheckBodyEvents> parser{boost::json::parse_options{}};
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    return core::unexpected(CheckBodyError{"Malformed JSON body: " + ec.message() + ".", std::nullopt});
  }
  CheckBodyEvents& body = parser.handler();
  if (!body.is_object()) return core::unexpected(CheckBodyError{std::string(kNotAnObject), std::nullopt});
  if (body.unknown()) {
    const std::string& field = *body.unknown();
    return core::unexpected(CheckBodyError{"Unknown field \"" + field +
                                               "\"; expected \"api_key\", \"method\", \"path\" and "
                                               "\"cost\".",
                                           field});
  }
  if (body.repeated()) {
    const std::string_view field = kMemberNames[*body.repeated()];
    return core::unexpected(CheckBodyError{
        fmt::format("\"{}\" appears more than once.", field), std::string(field)});
  }
  for (const std::size_t member : {kApiKey, kMethod, kPath}) {
    if (body.member(member).kind != MemberValue::Kind::string) {
      const std::string_view field = kMemberNames[member];
      return core::unexpected(CheckBodyError{
          fmt::format("\"{}\" is required and must be a string.", field), std::string(field)});
    }
  }

  CheckQuery query;
  query.by = CheckQuery::By::key;
  std::string& key = body.member(kApiKey).text;
  query.key_kind = key.empty() ? decision::PresentedCredential::Kind::none
                               : decision::PresentedCredential::Kind::key;
  query.key = std::move(key);
  const MemberValue& cost = body.member(kCost);
  if (cost.kind != MemberValue::Kind::absent && cost.kind != MemberValue::Kind::null) {
    if (cost.kind != MemberValue::Kind::int64 || cost.number < 1 ||
        cost.number > limiter::kMaxCost) {
      return core::unexpected(CheckBodyError{
          fmt::format("\"cost\" must be an integer from 1 to {}.", limiter::kMaxCost), "cost"});
    }
    query.cost = cost.number;
  }
  // The limits the proxy applies to this request: the plan-wide one and its route's group.
  query.selectors.reserve(2);
  query.selectors.push_back(LimitSelector{.kind = LimitSelector::Kind::plan});
  query.selectors.push_back(LimitSelector{.kind = LimitSelector::Kind::route,
                                          .method = std::move(body.member(kMethod).text),
                                          .path = std::move(body.member(kPath).text)});
  return query;
}

std::string check_answer_json(const decision::CheckAnswer& answer, std::string_view request_id) {
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<std::int64_t> reset;
  if (answer.checked && answer.verdict.decided) {
    const auto decisions = answer.verdict.result.view();
    const limiter::Decision& d =
        decisions[limiter::most_constraining(decisions, answer.verdict.result.admitted)];
    limit = d.limit;
    remaining = d.remaining;
    reset = d.reset_unix_s;
  }
  const decision::Refusal* refusal = answer.refusal ? &*answer.refusal : nullptr;

  std::string out;
  out.reserve(384);
  // Member names and punctuation as literal runs: one append each.
  out += refusal ? R"({"allowed":false,"limit":)" : R"({"allowed":true,"limit":)";
  append_number_or_null(out, limit);
  out += R"(,"remaining":)";
  append_number_or_null(out, remaining);
  out += R"(,"reset":)";
  append_number_or_null(out, reset);
  out += R"(,"retry_after":)";
  append_number_or_null(out, refusal ? refusal->retry_after_s : std::nullopt);
  if (refusal) {
    out += R"(,"status":)";
    core::append_decimal(out, refusal->status);
    out += R"(,"error":{"type":)";
    core::append_json_string(out, refusal->type);
    out += R"(,"code":)";
    core::append_json_string(out, refusal->code);
    out += R"(,"message":)";
    core::append_json_string(out, refusal->message);
    out += R"(,"request_id":)";
    core::append_json_string(out, request_id);
    out += '}';
  }
  out += R"(,"headers":{)";
  HeaderObject headers{out};
  decision::write_check_answer_fields(headers, answer, core::to_unix_seconds(answer.now),
                                      answer.fields);
  out += "}}";
  return out;
}

}  // namespace gw::admin
