// Process-lifetime helpers the supervisor needs and Node does not offer.
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cerrno>

#include <ctime>

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

// glibc hands freed memory at the top of its heap back to the kernel once
// more than 128 KiB are free, and serves blocks of 128 KiB and up with mmap:
// either way, the next allocation of that size faults fresh zero pages in
// (16 minor faults per 64 KiB). A client that copies large replies into new
// Buffers frees and reallocates exactly such blocks all the time, so it asks
// malloc to keep up to `keep` freed bytes mapped and to serve blocks up to
// `heapUpTo` bytes from the heap. Fixing either value also ends glibc's
// dynamic adjustment of both. Returns false where there is no mallopt
// (musl, macOS) or glibc refused a value.
Napi::Value RetainFreedHeap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t keep = Int32Arg(info, 0, "keep");
  int32_t heap_up_to = Int32Arg(info, 1, "heapUpTo");
  if (keep < 0 || heap_up_to < 0) ThrowInvalidArgument(env, "byte counts must not be negative");
#ifdef __GLIBC__
  bool applied = mallopt(M_MMAP_THRESHOLD, heap_up_to) == 1;
  applied = mallopt(M_TRIM_THRESHOLD, keep) == 1 && applied;
  return Napi::Boolean::New(env, applied);
#else
  return Napi::Boolean::New(env, false);
#endif
}

// What glibc's malloc holds (mallinfo2): bytes in blocks it mmapped one by
// one, bytes of its arenas, and bytes free in them (kept, not yet given
// back). Null where there is no mallinfo2 (glibc < 2.33, musl, macOS).
Napi::Value MallocStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 0) ThrowInvalidArgument(env, "mallocStats takes no arguments");
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 stats = mallinfo2();
  Napi::Object result = Napi::Object::New(env);
  result.Set("mmappedBytes", Napi::Number::New(env, static_cast<double>(stats.hblkhd)));
  result.Set("arenaBytes", Napi::Number::New(env, static_cast<double>(stats.arena)));
  result.Set("freeBytes", Napi::Number::New(env, static_cast<double>(stats.fordblks)));
  return result;
#else
  return env.Null();
#endif
}

// Gives this thread's CPU to another runnable thread on the same CPU, if
// there is one (sched_yield). A spinning waiter calls it so that on a machine
// with more busy processes than CPUs it does not hold a CPU its peer is
// queued for; with nothing else runnable it returns at once.
Napi::Value YieldProcessor(const Napi::CallbackInfo& info) {
  if (info.Length() != 0) ThrowInvalidArgument(info.Env(), "yieldProcessor takes no arguments");
  sched_yield();
  return info.Env().Undefined();
}

// The clock cell: a Float64Array the JS side registers once and keeps for
// good (a module constant), so its backing store outlives every readClock.
// One per Node environment (each worker_threads environment has its own
// cell), held by both functions as their data rather than in a thread_local:
// a dlopen'ed addon reaches its TLS through __tls_get_addr, a call per read.
struct ClockState {
  double* cell = nullptr;
};

Napi::Value RegisterClockCell(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < 1) {
    ThrowInvalidArgument(info.Env(), "registerClockCell takes a Float64Array of at least one element");
  }
  static_cast<ClockState*>(info.Data())->cell = info[0].As<Napi::Float64Array>().Data();
  return info.Env().Undefined();
}

// CLOCK_MONOTONIC in milliseconds, into the registered cell: a double
// returned to JavaScript would be a fresh heap number on every call (as
// performance.now()'s is), and a worker reads the clock once per request.
// A plain N-API callback, not node-addon-api's wrapper (which builds a
// CallbackInfo and a try/catch per call): this runs once per request.
napi_value ReadClock(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data) != napi_ok) return nullptr;
  double* cell = static_cast<ClockState*>(data)->cell;
  if (argc != 0 || cell == nullptr) {
    try {
      ThrowInvalidArgument(env, argc != 0 ? "readClock takes no arguments" : "readClock needs registerClockCell first");
    } catch (const Napi::Error& error) {
      error.ThrowAsJavaScriptException();
    }
    return nullptr;
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  *cell = static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
  return nullptr;
}

}  // namespace

void InitProcess(Napi::Env env, Napi::Object exports) {
  auto* clock = new ClockState();
  napi_add_env_cleanup_hook(env, [](void* state) { delete static_cast<ClockState*>(state); }, clock);
  exports.Set("registerClockCell", Napi::Function::New(env, RegisterClockCell, "registerClockCell", clock));
  napi_value read_clock;
  NAPI_THROW_IF_FAILED_VOID(
      env, napi_create_function(env, "readClock", NAPI_AUTO_LENGTH, ReadClock, clock, &read_clock));
  exports.Set("readClock", Napi::Value(env, read_clock));
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal, "setParentDeathSignal"));
  exports.Set("openPidFd", Napi::Function::New(env, OpenPidFd, "openPidFd"));
  exports.Set("retainFreedHeap", Napi::Function::New(env, RetainFreedHeap, "retainFreedHeap"));
  exports.Set("mallocStats", Napi::Function::New(env, MallocStats, "mallocStats"));
  exports.Set("yieldProcessor", Napi::Function::New(env, YieldProcessor, "yieldProcessor"));
}

}  // namespace phoenix
