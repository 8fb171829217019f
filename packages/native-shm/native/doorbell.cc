// Cross-process doorbells: an eventfd that producers write and a consumer
// watches. Two ways to wait on one:
//  - FdWatcher: a libuv uv_poll_t on the event loop. No thread is held, no
//    busy loop; the JS callback runs when the fd turns readable. start/stop
//    only flip the epoll registration, so the hot path can arm it just before
//    it goes idle.
//  - waitSync/pollSync: poll(2) on the calling thread, for the few callers
//    that cannot return to the event loop (callSync).
#include <poll.h>
#include <unistd.h>
#include <uv.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#if defined(__linux__) && !defined(PHOENIX_DOORBELL_FIFO)
#include <sys/eventfd.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "common.h"

namespace phoenix {
namespace {

// --- the doorbell seam ------------------------------------------------------
// One fd per doorbell that can be signalled, drained and polled, inherited
// and passed over a socket. Linux: an eventfd. Elsewhere (macOS has no
// eventfd): a FIFO opened read-write and unlinked at once, which is one fd
// that works both ways. Build with -DPHOENIX_DOORBELL_FIFO to use the FIFO on
// Linux too (to test it). Only the eventfd is tested in CI.

#if defined(__linux__) && !defined(PHOENIX_DOORBELL_FIFO)

int DoorbellCreate(bool inheritable) {
  return eventfd(0, EFD_NONBLOCK | (inheritable ? 0 : EFD_CLOEXEC));
}

// Returns 0, or an errno. EAGAIN means the counter is saturated: a wake-up is
// already pending, which is all a doorbell needs.
int DoorbellRing(int fd) {
  uint64_t one = 1;
  for (;;) {
    ssize_t n = write(fd, &one, sizeof one);
    if (n == sizeof one) return 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    return n < 0 ? errno : EINVAL;
  }
}

// Reads the pending count (0 when none). Returns -errno on failure.
int64_t DoorbellDrain(int fd) {
  uint64_t value = 0;
  for (;;) {
    ssize_t n = read(fd, &value, sizeof value);
    if (n == sizeof value) return static_cast<int64_t>(value);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    return n < 0 ? -errno : -EINVAL;
  }
}

// Whether `fd` is an eventfd: what a doorbell passed by another process must
// be. fstat cannot tell an eventfd from the other anonymous inodes (all have
// no file type), so /proc names it; without /proc, an anonymous inode passes.
bool DoorbellIs(int fd) {
  struct stat status;
  if (fstat(fd, &status) != 0 || (status.st_mode & S_IFMT) != 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char target[64];
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n < 0) return errno == ENOENT || errno == EACCES;
  target[n] = '\0';
  return std::strcmp(target, "anon_inode:[eventfd]") == 0;
}

#else

int DoorbellCreate(bool inheritable) {
  static std::atomic<unsigned> counter{0};
  char path[128];
  std::snprintf(path, sizeof path, "/tmp/phoenix-doorbell-%d-%u", static_cast<int>(getpid()), counter.fetch_add(1));
  if (mkfifo(path, 0600) != 0) return -1;
  int fd = open(path, O_RDWR | O_NONBLOCK);
  int err = errno;
  unlink(path);
  if (fd < 0) {
    errno = err;
    return -1;
  }
  if (!inheritable) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int DoorbellRing(int fd) {
  const char one = 1;
  for (;;) {
    ssize_t n = write(fd, &one, 1);
    if (n == 1) return 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;  // the pipe is full: a wake-up is pending anyway
    return n < 0 ? errno : EINVAL;
  }
}

int64_t DoorbellDrain(int fd) {
  char buffer[256];
  int64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      total += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return total;
    return n < 0 ? -errno : total;
  }
}

// Whether `fd` is a doorbell of this build: a FIFO open for reading and writing.
bool DoorbellIs(int fd) {
  struct stat status;
  if (fstat(fd, &status) != 0 || !S_ISFIFO(status.st_mode)) return false;
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_ACCMODE) == O_RDWR;
}

#endif

Napi::Value CreateEventFd(const Napi::CallbackInfo& info) {
  bool inheritable = info.Length() > 0 && !info[0].IsUndefined() ? BoolArg(info, 0, "inheritable") : false;
  int fd = DoorbellCreate(inheritable);
  if (fd < 0) ThrowErrno(info.Env(), "eventfd", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value SignalEventFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int err = DoorbellRing(fd);
  if (err != 0) ThrowErrno(info.Env(), "write", err);
  return info.Env().Undefined();
}

Napi::Value DrainEventFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int64_t count = DoorbellDrain(fd);
  if (count < 0) ThrowErrno(info.Env(), "read", static_cast<int>(-count));
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

Napi::Value IsDoorbellFd(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), DoorbellIs(FdArg(info, 0)));
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(info.Env(), "close", errno);
  return info.Env().Undefined();
}

// poll(2) on `fds` for readability, retrying EINTR against the deadline.
// Returns the index of the first ready fd, or -1 on timeout.
int PollReadable(Napi::Env env, std::vector<pollfd>& fds, double timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const bool forever = timeout_ms < 0;
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(forever ? 0 : timeout_ms * 1000));
  for (;;) {
    int wait_ms = -1;
    if (!forever) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
      if (left < 0) left = 0;
      wait_ms = static_cast<int>((left + 999) / 1000);
    }
    int rc = poll(fds.data(), fds.size(), wait_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(env, "poll", errno);
    }
    for (size_t i = 0; i < fds.size(); i++) {
      if (fds[i].revents & POLLNVAL) ThrowErrno(env, "poll", EBADF);
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) return static_cast<int>(i);
    }
    if (!forever && Clock::now() >= deadline) return -1;
  }
}

// waitSync(fd, timeoutMs): block until the eventfd is signalled, then drain it.
Napi::Value WaitSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  double timeout_ms = NumberArg(info, 1, "timeoutMs");
  std::vector<pollfd> fds{{fd, POLLIN, 0}};
  if (PollReadable(env, fds, timeout_ms) < 0) return Napi::String::New(env, "timed-out");
  DoorbellDrain(fd);
  return Napi::String::New(env, "ok");
}

// pollSync(fds, timeoutMs): index of the first readable (or hung-up) fd, -1 on timeout.
// Nothing is drained: the caller decides what readiness means for each fd.
Napi::Value PollSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) ThrowInvalidArgument(env, "fds must be an array");
  Napi::Array list = info[0].As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > 64) ThrowInvalidArgument(env, "fds must hold 1 to 64 descriptors");
  double timeout_ms = NumberArg(info, 1, "timeoutMs");
  std::vector<pollfd> fds;
  for (uint32_t i = 0; i < list.Length(); i++) {
    fds.push_back({FdValue(env, list.Get(i), "fds"), POLLIN, 0});
  }
  return Napi::Number::New(env, PollReadable(env, fds, timeout_ms));
}

// --- FdWatcher -------------------------------------------------------------

class FdWatcher;

// Per-env bookkeeping so that a worker thread's teardown closes its handles.
struct WatcherRegistry {
  std::unordered_set<FdWatcher*> live;
};

class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {
                           InstanceMethod<&FdWatcher::Start>("start"),
                           InstanceMethod<&FdWatcher::Stop>("stop"),
                           InstanceMethod<&FdWatcher::Close>("close"),
                           InstanceMethod<&FdWatcher::RefLoop>("ref"),
                           InstanceMethod<&FdWatcher::UnrefLoop>("unref"),
                           InstanceAccessor<&FdWatcher::Active>("active"),
                       });
  }

  // new FdWatcher(fd, callback, drainEventFd)
  explicit FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
    Napi::Env env = info.Env();
    fd_ = FdArg(info, 0);
    if (info.Length() < 2 || !info[1].IsFunction()) ThrowInvalidArgument(env, "callback must be a function");
    drain_ = BoolArg(info, 2, "drainEventFd");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowErrno(env, "napi_get_uv_event_loop", EINVAL);
    handle_ = new uv_poll_t;
    int rc = uv_poll_init(loop, handle_, fd_);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      ThrowErrno(env, "uv_poll_init", -rc);
    }
    handle_->data = this;
    // Created only once nothing can throw: the destructor does not run when the constructor throws.
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = new Napi::AsyncContext(env, "PhoenixFdWatcher");
    registry_ = env.GetInstanceData<WatcherRegistry>();
    if (registry_ != nullptr) registry_->live.insert(this);
  }

  ~FdWatcher() override {
    CloseHandle();
    delete context_;
  }

  // Called at env teardown for handles JS never closed.
  void CloseHandle() {
    if (handle_ == nullptr) return;
    if (registry_ != nullptr) registry_->live.erase(this);
    registry_ = nullptr;
    uv_poll_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    handle_ = nullptr;
    active_ = false;
  }

 private:
  void RequireOpen(Napi::Env env) {
    if (handle_ == nullptr) ThrowErrno(env, "uv_poll", EBADF);
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env());
    if (!active_) {
      int rc = uv_poll_start(handle_, UV_READABLE | UV_DISCONNECT, OnPoll);
      if (rc != 0) ThrowErrno(info.Env(), "uv_poll_start", -rc);
      active_ = true;
      // An armed watcher keeps its JS object alive, like any active Node handle.
      Ref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr && active_) {
      uv_poll_stop(handle_);
      active_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (active_) Unref();
    CloseHandle();
    return info.Env().Undefined();
  }

  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value Active(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), active_); }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    FdWatcher* self = static_cast<FdWatcher*>(handle->data);
    if (self == nullptr) return;
    if (self->drain_ && status == 0 && (events & UV_READABLE)) DoorbellDrain(self->fd_);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    // MakeCallback (not Call) so that promises resolved by the callback run
    // their continuations before control returns to libuv.
    try {
      self->callback_.MakeCallback(self->Value(),
                                   {Napi::Number::New(env, status), Napi::Number::New(env, events)}, *self->context_);
    } catch (const Napi::Error& error) {
      napi_fatal_exception(env, error.Value());
    }
  }

  int fd_ = -1;
  bool drain_ = false;
  bool active_ = false;
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::AsyncContext* context_ = nullptr;
  WatcherRegistry* registry_ = nullptr;
};

void NoFinalize(Napi::Env, WatcherRegistry*) {}

}  // namespace

void InitDoorbell(Napi::Env env, Napi::Object exports) {
  // The registry is owned by the cleanup hook, not by napi's instance-data
  // finalizer, so that it outlives every watcher it has to close.
  WatcherRegistry* registry = new WatcherRegistry();
  env.SetInstanceData<WatcherRegistry, NoFinalize>(registry);
  napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        WatcherRegistry* reg = static_cast<WatcherRegistry*>(arg);
        std::vector<FdWatcher*> open(reg->live.begin(), reg->live.end());
        for (FdWatcher* watcher : open) watcher->CloseHandle();
        delete reg;
      },
      registry);
  exports.Set("createEventFd", Napi::Function::New(env, CreateEventFd, "createEventFd"));
  exports.Set("signalEventFd", Napi::Function::New(env, SignalEventFd, "signalEventFd"));
  exports.Set("drainEventFd", Napi::Function::New(env, DrainEventFd, "drainEventFd"));
  exports.Set("isDoorbellFd", Napi::Function::New(env, IsDoorbellFd, "isDoorbellFd"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("waitSync", Napi::Function::New(env, WaitSync, "waitSync"));
  exports.Set("pollSync", Napi::Function::New(env, PollSync, "pollSync"));
  exports.Set("FdWatcher", FdWatcher::Define(env));
}

}  // namespace phoenix
