// Shared helpers for the PhoenixIPC native layer.
// The native layer is deliberately thin: it validates argument *types* so a bad
// call can never crash the process, and maps errno to a stable error code.
// Every policy decision (names, sizes, protocols) lives in TypeScript.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace phoenix {

// Error codes are part of the public contract; keep in step with src/errors.ts.
constexpr const char* kInvalidArgument = "ERR_PHOENIX_INVALID_ARGUMENT";
constexpr const char* kSegmentNotFound = "ERR_PHOENIX_SEGMENT_NOT_FOUND";
constexpr const char* kSegmentExists = "ERR_PHOENIX_SEGMENT_EXISTS";
constexpr const char* kPermission = "ERR_PHOENIX_PERMISSION";
constexpr const char* kBadFd = "ERR_PHOENIX_BAD_FD";
constexpr const char* kConnectRefused = "ERR_PHOENIX_CONNECT_REFUSED";
constexpr const char* kPeerGone = "ERR_PHOENIX_PEER_GONE";
constexpr const char* kNoSuchProcess = "ERR_PHOENIX_NO_SUCH_PROCESS";
constexpr const char* kUnsupportedPlatform = "ERR_PHOENIX_UNSUPPORTED_PLATFORM";
constexpr const char* kSyscallFailed = "ERR_PHOENIX_SYSCALL_FAILED";

// Throws a JS Error carrying code, errno, syscall and (optionally) path.
// `code` may be nullptr: it is then derived from errno.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& path = "",
                             const char* code = nullptr);
[[noreturn]] void ThrowInvalidArgument(Napi::Env env, const std::string& message);

int32_t Int32Arg(const Napi::CallbackInfo& info, size_t index, const char* name);
int FdArg(const Napi::CallbackInfo& info, size_t index);
// An fd taken from an array element: a non-negative 32-bit integer, else ERR_PHOENIX_INVALID_ARGUMENT.
int FdValue(Napi::Env env, const Napi::Value& value, const char* what);
double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* name);
bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* name);
std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* name);

void InitSegment(Napi::Env env, Napi::Object exports);
void InitDoorbell(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitProcess(Napi::Env env, Napi::Object exports);

}  // namespace phoenix
