#include <cerrno>
#include <cmath>
#include <cstring>

#include "common.h"

namespace phoenix {

// The Symbol.for brand lets PhoenixError.isInstance recognise native errors.
static void BrandError(Napi::Env env, Napi::Error& error) {
  Napi::Object object = error.Value();
  Napi::Value brand = Napi::Symbol::For(env, "phoenix-ipc.error");
  object.Set(brand, Napi::Boolean::New(env, true));
}

static const char* CodeForErrno(int err) {
  switch (err) {
    case ENOENT:
      return kSegmentNotFound;
    case EEXIST:
      return kSegmentExists;
    case EACCES:
    case EPERM:
      return kPermission;
    case EBADF:
      return kBadFd;
    case EINVAL:
    case ENAMETOOLONG:
      return kInvalidArgument;
    case ECONNREFUSED:
      return kConnectRefused;
    case EPIPE:
    case ECONNRESET:
      return kPeerGone;
    case ESRCH:
      return kNoSuchProcess;
    default:
      return kSyscallFailed;
  }
}

void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& path, const char* code) {
  const char* resolved = code != nullptr ? code : CodeForErrno(err);
  std::string message = std::string(syscall) + " failed: " + std::strerror(err);
  if (!path.empty()) message += " ('" + path + "')";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, resolved));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  BrandError(env, error);
  throw error;
}

void ThrowInvalidArgument(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, kInvalidArgument));
  BrandError(env, error);
  throw error;
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
  return exports;
}

NODE_API_MODULE(phoenix_native_shm, Init)
