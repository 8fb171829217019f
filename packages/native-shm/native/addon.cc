#include <cerrno>
#include <cmath>
#include <cstring>

#include "common.h"

namespace phoenix {

// Syscall failures report the facts only: errno, the syscall and the path.
// Which catalogue code they mean is policy, decided in TypeScript
// (src/native-errors.ts), so there is one catalogue and one error class.
void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& path) {
  std::string message = std::string(syscall) + " failed: " + std::strerror(err);
  if (!path.empty()) message += " ('" + path + "')";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  throw error;
}

// A value of the wrong type: a TypeError, mapped to ERR_PHOENIX_INVALID_ARGUMENT in TypeScript.
void ThrowInvalidArgument(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    ThrowInvalidArgument(info.Env(), std::string(name) + " must be a number");
  }
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(value)) ThrowInvalidArgument(info.Env(), std::string(name) + " must be finite");
  return value;
}

int32_t Int32Arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  double value = NumberArg(info, index, name);
  if (value != std::floor(value) || value < INT32_MIN || value > INT32_MAX) {
    ThrowInvalidArgument(info.Env(), std::string(name) + " must be a 32-bit integer");
  }
  return static_cast<int32_t>(value);
}

int FdArg(const Napi::CallbackInfo& info, size_t index) {
  int32_t fd = Int32Arg(info, index, "fd");
  if (fd < 0) ThrowInvalidArgument(info.Env(), "fd must be a non-negative integer");
  return fd;
}

int FdValue(Napi::Env env, const Napi::Value& value, const char* what) {
  // Not Int32Value(): it maps NaN, 1.5 and 2**32 to valid-looking fds (NaN -> 0, stdin).
  if (!value.IsNumber()) ThrowInvalidArgument(env, std::string(what) + " must hold non-negative integers");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0 && number <= INT32_MAX) || number != std::floor(number)) {
    ThrowInvalidArgument(env, std::string(what) + " must hold non-negative integers");
  }
  return static_cast<int>(number);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsBoolean()) {
    ThrowInvalidArgument(info.Env(), std::string(name) + " must be a boolean");
  }
  return info[index].As<Napi::Boolean>().Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsString()) {
    ThrowInvalidArgument(info.Env(), std::string(name) + " must be a string");
  }
  std::string value = info[index].As<Napi::String>().Utf8Value();
  if (value.find('\0') != std::string::npos) {
    ThrowInvalidArgument(info.Env(), std::string(name) + " must not contain NUL");
  }
  return value;
}

}  // namespace phoenix

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  phoenix::InitSegment(env, exports);
  phoenix::InitDoorbell(env, exports);
  phoenix::InitSocket(env, exports);
  phoenix::InitProcess(env, exports);
  phoenix::InitSpawn(env, exports);
  phoenix::InitDeathWatch(env, exports);
  return exports;
}

NODE_API_MODULE(phoenix_native_shm, Init)
