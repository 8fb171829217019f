// Process-lifetime helpers the supervisor needs and Node does not offer.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>

#include "common.h"

namespace phoenix {
namespace {

// Ask the kernel to send `signal` to this process when its parent dies, so a
// worker never outlives a SIGKILLed supervisor. Returns false where unsupported.
Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t signal_number = Int32Arg(info, 0, "signal");
  if (signal_number < 0 || signal_number >= NSIG) ThrowInvalidArgument(env, "signal out of range");
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, signal_number) != 0) ThrowErrno(env, "prctl", errno);
  return Napi::Boolean::New(env, true);
#else
  return Napi::Boolean::New(env, false);
#endif
}

// A pidfd turns "process exited" into fd readability, so a thread blocked in
// poll(2) notices a worker's death. Returns -1 where unsupported.
Napi::Value OpenPidFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t pid = Int32Arg(info, 0, "pid");
  if (pid <= 0) ThrowInvalidArgument(env, "pid must be positive");
#if defined(__linux__) && defined(SYS_pidfd_open)
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    if (errno == ENOSYS) return Napi::Number::New(env, -1);
    ThrowErrno(env, "pidfd_open", errno);
  }
  return Napi::Number::New(env, static_cast<double>(fd));
#else
  return Napi::Number::New(env, -1);
#endif
}

}  // namespace

void InitProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal, "setParentDeathSignal"));
  exports.Set("openPidFd", Napi::Function::New(env, OpenPidFd, "openPidFd"));
}

}  // namespace phoenix
