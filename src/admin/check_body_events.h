// Reading a POST /v1/check body from Boost.JSON's parser events (basic_parser's Handler)
// instead of a DOM: check_exchange.cpp's reader, apart so that it can be read on its own.
// Internal to admin/ (included by check_exchange.cpp only).
#pragma once

#include <array>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::admin::check_body {

// The members a check body may have, in the order their errors are reported.
inline constexpr std::size_t kApiKey = 0;
inline constexpr std::size_t kMethod = 1;
inline constexpr std::size_t kPath = 2;
inline constexpr std::size_t kCost = 3;
inline constexpr std::array<std::string_view, 4> kMemberNames = {"api_key", "method", "path",
                                                                 "cost"};

struct MemberValue {
  enum class Kind { absent, string, int64, null, other };
  Kind kind = Kind::absent;
  std::string text;         // Kind::string
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
    return enter();
  }
  bool on_object_end(std::size_t, boost::system::error_code&) { return leave(); }
  bool on_array_begin(boost::system::error_code&) { return enter(); }
  bool on_array_end(std::size_t, boost::system::error_code&) { return leave(); }
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
  static inline constexpr std::size_t kNoMember = kMemberNames.size();

  // The member a value at the top level of the root object belongs to, now of `kind`;
  // nullptr for any other value (nested, or of an unknown member).
  MemberValue* value_is(MemberValue::Kind kind) {
    if (depth_ != 1 || current_ == kNoMember) return nullptr;
    MemberValue& value = members_[current_];
    value.kind = kind;
    if (kind == MemberValue::Kind::other) current_ = kNoMember;  // a container: done with it
    return &value;
  }
  // A container opens: as a member's value it is of no kind the body allows.
  bool enter() {
    value_is(MemberValue::Kind::other);
    ++depth_;
    return true;
  }
  bool leave() {
    --depth_;
    return true;
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

}  // namespace gw::admin::check_body
