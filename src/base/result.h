#pragma once
// Errors as values. Every module boundary returns Result<T> (or Status);
// no exception crosses a module. The code tells a caller what it may do next:
// kTransient may be retried, the others may not.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace mergeyard {

enum class ErrorCode {
  kInvalid,       // the input is wrong; retrying will not help
  kNotFound,      // the thing asked for does not exist
  kConflict,      // the state changed underneath (CAS lost, merge conflict)
  kTransient,     // a passing failure (network, busy database); retry later
  kUnauthorized,  // missing or wrong credentials
  kForbidden,     // credentials fine, permission missing
  kInternal,      // a bug or an environment failure
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "conflict: target moved" — for logs and API answers.
  std::string ToString() const;
};

inline Error Invalid(std::string m) { return {ErrorCode::kInvalid, std::move(m)}; }
inline Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Error Transient(std::string m) { return {ErrorCode::kTransient, std::move(m)}; }
inline Error Unauthorized(std::string m) { return {ErrorCode::kUnauthorized, std::move(m)}; }
inline Error Forbidden(std::string m) { return {ErrorCode::kForbidden, std::move(m)}; }
inline Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// Holds either a T or an Error. Accessing value() of an error (or error() of a
// value) is a programming mistake and asserts.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}       // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace mergeyard
