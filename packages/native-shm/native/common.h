// Shared helpers for the PhoenixIPC native layer.
// The native layer is deliberately thin: it validates argument *types* so a bad
// call can never crash the process, and reports errno, syscall and path.
// Every policy decision (names, sizes, protocols) lives in TypeScript.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace phoenix {

// Throws a JS Error carrying errno, syscall and (optionally) path; TypeScript
// maps it to a PhoenixError with a catalogue code.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& path = "");
// Throws a TypeError (a wrong argument type); TypeScript maps it to ERR_PHOENIX_INVALID_ARGUMENT.
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
void InitSpawn(Napi::Env env, Napi::Object exports);
void InitDeathWatch(Napi::Env env, Napi::Object exports);

}  // namespace phoenix
