// Learning of a worker's death before the kernel has torn the process down.
//
// A SIGKILLed Node process becomes a zombie (what waitpid, SIGCHLD and a
// pidfd report) only after its memory has been unmapped: ~4 ms of kernel work
// for a worker, idle, and 13-17 ms at the median on two loaded vCPUs, all of
// it before a supervisor can start recovering. A robust futex is released much
// earlier: when the owning thread enters do_exit, the kernel marks a robust
// mutex it holds OWNER_DIED and wakes a waiter, before the address space goes.
//
// So each worker process holds one robust, process-shared mutex (a slot of a
// memfd the supervisor created and handed it) on its main thread for its whole
// life, and the supervisor parks one thread per armed slot in
// pthread_mutex_lock. EOWNERDEAD = the worker's main thread is exiting: it will
// never run JS (or write shared memory) again. The thread records the slot and
// rings an eventfd the event loop watches.
//
// Slot layout: one pthread_mutex_t per 64-byte slot (a cache line each).
#ifdef __linux__
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <map>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <sys/syscall.h>
#endif

#include "common.h"

namespace phoenix {
namespace {

#ifdef __linux__
constexpr size_t kSlotBytes = 64;
static_assert(sizeof(pthread_mutex_t) <= kSlotBytes, "a robust mutex must fit a slot");
constexpr int kMaxSlots = 4096;
// A parked thread looks up every this often whether its watch was closed, so
// that a watch closed while its workers live does not keep threads forever.
// Rarely: an idle supervisor must not wake (one thread per watched process).
constexpr int kRecheckSeconds = 300;

pthread_mutex_t* SlotAt(void* base, int slot) {
  return reinterpret_cast<pthread_mutex_t*>(static_cast<uint8_t*>(base) + static_cast<size_t>(slot) * kSlotBytes);
}

// The supervisor's side of one watch. Shared by the registry and every parked
// thread: the mapping and the eventfd live until the last of them lets go.
struct Watch {
  void* base = nullptr;
  size_t bytes = 0;
  int slots = 0;
  int eventFd = -1;
  std::atomic<bool> closed{false};
  std::mutex eventsLock;
  std::vector<std::pair<int, bool>> events;  // (slot, owner died)

  ~Watch() {
    if (base != nullptr) munmap(base, bytes);
    if (eventFd >= 0) close(eventFd);
  }
};

std::mutex registryLock;
std::map<int, std::shared_ptr<Watch>> registry;  // by memfd

std::shared_ptr<Watch> FindWatch(Napi::Env env, int fd) {
  std::lock_guard<std::mutex> guard(registryLock);
  auto found = registry.find(fd);
  if (found == registry.end()) ThrowErrno(env, "death_watch", EBADF);
  return found->second;
}

void Park(std::shared_ptr<Watch> watch, int slot, std::shared_ptr<std::promise<void>> started) {
  pthread_mutex_t* mutex = SlotAt(watch->base, slot);
  bool died = false;
  started->set_value();
  for (;;) {
    timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += kRecheckSeconds;
    int result = pthread_mutex_timedlock(mutex, &deadline);
    if (result == ETIMEDOUT || result == EINTR) {
      if (watch->closed.load()) return;
      continue;
    }
    if (result == EOWNERDEAD) {
      died = true;
      pthread_mutex_consistent(mutex);
    }
    // Held now (0 means nobody held the slot: nothing to report but that).
    if (result == 0 || result == EOWNERDEAD) pthread_mutex_unlock(mutex);
    break;
  }
  {
    std::lock_guard<std::mutex> guard(watch->eventsLock);
    watch->events.emplace_back(slot, died);
  }
  uint64_t one = 1;
  ssize_t ignored = write(watch->eventFd, &one, sizeof one);
  (void)ignored;
}

// createDeathWatch(slots): { fd, eventFd } — a memfd of `slots` robust mutexes
// (fd, close-on-exec: hand it to children explicitly) and the eventfd rung when
// an armed slot's owner dies.
Napi::Value CreateDeathWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t slots = Int32Arg(info, 0, "slots");
  if (slots <= 0 || slots > kMaxSlots) ThrowInvalidArgument(env, "slots must be 1.." + std::to_string(kMaxSlots));
  auto watch = std::make_shared<Watch>();
  watch->slots = slots;
  watch->bytes = static_cast<size_t>(slots) * kSlotBytes;
  int fd = static_cast<int>(syscall(SYS_memfd_create, "phoenix-death-watch", MFD_CLOEXEC));
  if (fd < 0) ThrowErrno(env, "memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(watch->bytes)) != 0) {
    int error = errno;
    close(fd);
    ThrowErrno(env, "ftruncate", error);
  }
  watch->base = mmap(nullptr, watch->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (watch->base == MAP_FAILED) {
    int error = errno;
    watch->base = nullptr;
    close(fd);
    ThrowErrno(env, "mmap", error);
  }
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  for (int slot = 0; slot < slots; slot++) pthread_mutex_init(SlotAt(watch->base, slot), &attributes);
  pthread_mutexattr_destroy(&attributes);
  watch->eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (watch->eventFd < 0) {
    int error = errno;
    close(fd);
    ThrowErrno(env, "eventfd", error);
  }
  {
    std::lock_guard<std::mutex> guard(registryLock);
    registry[fd] = watch;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("eventFd", Napi::Number::New(env, watch->eventFd));
  return result;
}

// armDeathWatch(fd, slot): parks a thread on the slot. Arm it once its
// process holds the slot; the thread reports one event and ends.
Napi::Value ArmDeathWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Watch> watch = FindWatch(env, FdArg(info, 0));
  int32_t slot = Int32Arg(info, 1, "slot");
  if (slot < 0 || slot >= watch->slots) ThrowInvalidArgument(env, "slot out of range");
  // Returns once the thread runs, so that a death right after arm() is
  // reported at once rather than whenever a busy machine starts the thread.
  auto started = std::make_shared<std::promise<void>>();
  std::future<void> running = started->get_future();
  try {
    std::thread(Park, watch, slot, started).detach();
  } catch (const std::system_error& error) {
    ThrowErrno(env, "pthread_create", error.code().value());
  }
  running.wait();
  return env.Undefined();
}

// takeDeathWatchEvents(fd): [[slot, ownerDied], ...] reported since the last call.
Napi::Value TakeDeathWatchEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Watch> watch = FindWatch(env, FdArg(info, 0));
  std::vector<std::pair<int, bool>> events;
  {
    std::lock_guard<std::mutex> guard(watch->eventsLock);
    events.swap(watch->events);
  }
  Napi::Array array = Napi::Array::New(env, events.size());
  for (size_t i = 0; i < events.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::Number::New(env, events[i].first));
    pair.Set(1u, Napi::Boolean::New(env, events[i].second));
    array.Set(static_cast<uint32_t>(i), pair);
  }
  return array;
}

// closeDeathWatch(fd): closes the memfd; parked threads end when their slot's
// owner dies or at their next recheck, and the last one frees the rest.
Napi::Value CloseDeathWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  std::shared_ptr<Watch> watch;
  {
    std::lock_guard<std::mutex> guard(registryLock);
    auto found = registry.find(fd);
    if (found == registry.end()) return Napi::Boolean::New(env, false);
    watch = found->second;
    registry.erase(found);
  }
  watch->closed.store(true);
  close(fd);
  return Napi::Boolean::New(env, true);
}

// holdDeathWatchSlot(fd, slot): in a worker, takes the slot's mutex on this
// (the main) thread and keeps it until the process ends. False if it is held
// by another live process (then this process is simply not watched).
Napi::Value HoldDeathWatchSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int32_t slot = Int32Arg(info, 1, "slot");
  struct stat status;
  if (fstat(fd, &status) != 0) ThrowErrno(env, "fstat", errno);
  size_t bytes = static_cast<size_t>(status.st_size);
  if (slot < 0 || (static_cast<size_t>(slot) + 1) * kSlotBytes > bytes) ThrowInvalidArgument(env, "slot out of range");
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) ThrowErrno(env, "mmap", errno);
  pthread_mutex_t* mutex = SlotAt(base, slot);
  // The supervisor's thread may hold it for a moment (it is reporting the
  // previous owner's death): wait up to 100 ms, never forever.
  timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += 100 * 1000 * 1000;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  int result = pthread_mutex_timedlock(mutex, &deadline);
  if (result == EOWNERDEAD) {
    // A predecessor died holding it before anyone watched: it is ours now.
    pthread_mutex_consistent(mutex);
    result = 0;
  }
  if (result != 0) {
    munmap(base, bytes);
    if (result == ETIMEDOUT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "pthread_mutex_lock", result);
  }
  // Kept mapped and locked for the life of the process, on purpose.
  return Napi::Boolean::New(env, true);
}

#else
// No robust process-shared mutexes (macOS): death is learned at exit, as before.
Napi::Value Unsupported(const Napi::CallbackInfo& info) { ThrowErrno(info.Env(), "death_watch", ENOSYS); }
Napi::Value CreateDeathWatch(const Napi::CallbackInfo& info) { return Unsupported(info); }
Napi::Value ArmDeathWatch(const Napi::CallbackInfo& info) { return Unsupported(info); }
Napi::Value TakeDeathWatchEvents(const Napi::CallbackInfo& info) { return Unsupported(info); }
Napi::Value CloseDeathWatch(const Napi::CallbackInfo& info) { return Unsupported(info); }
Napi::Value HoldDeathWatchSlot(const Napi::CallbackInfo& info) { return Unsupported(info); }
#endif

}  // namespace

void InitDeathWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("createDeathWatch", Napi::Function::New(env, CreateDeathWatch, "createDeathWatch"));
  exports.Set("armDeathWatch", Napi::Function::New(env, ArmDeathWatch, "armDeathWatch"));
  exports.Set("takeDeathWatchEvents", Napi::Function::New(env, TakeDeathWatchEvents, "takeDeathWatchEvents"));
  exports.Set("closeDeathWatch", Napi::Function::New(env, CloseDeathWatch, "closeDeathWatch"));
  exports.Set("holdDeathWatchSlot", Napi::Function::New(env, HoldDeathWatchSlot, "holdDeathWatchSlot"));
}

}  // namespace phoenix
