// Starting a worker process without stalling the supervisor's event loop.
//
// libuv (Node 20-24) starts a child with fork(2) and then blocks until the
// child has called exec. fork copies the parent's page tables, and on a busy
// machine the new child waits for a CPU before it can exec. Measured on 2
// vCPUs: in the crash scenario of the stress app the supervisor stood still
// 7 ms per start at the median and up to 48 ms, while it should be noticing
// crashes and handing over channels; beside 4 busy processes, fork-and-wait
// took 41 ms on average (68 at most). posix_spawn(3) (glibc: clone with
// CLONE_VM | CLONE_VFORK) shares the address space and the child runs at
// once: 3.5 ms on average (12 at most) in that same test.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common.h"

namespace phoenix {
namespace {

std::vector<std::string> StringArray(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsArray()) ThrowInvalidArgument(env, std::string(what) + " must be an array of strings");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) ThrowInvalidArgument(env, std::string(what) + " must be an array of strings");
    std::string text = item.As<Napi::String>().Utf8Value();
    if (text.find('\0') != std::string::npos) ThrowInvalidArgument(env, std::string(what) + " must not contain NUL");
    out.push_back(std::move(text));
  }
  return out;
}

std::vector<char*> PointersTo(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// RAII for the two posix_spawn objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

// Fds this process copies for one spawn only (close-on-exec here), closed
// when the spawn returns or throws.
struct ParentCopies {
  std::vector<int> fds;
  ~ParentCopies() {
    for (int fd : fds) close(fd);
  }
  // A copy of `fd` numbered `floor` or above; -1 with errno set on failure.
  int Above(int fd, int floor) {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (copy >= 0) fds.push_back(copy);
    return copy;
  }
};

// spawnProcess(file, args, env, fds): args[0] is the program's name; the
// child gets fds[i] of this process as its fd 3 + i and this process's fds
// 0-2 as its own (every other close-on-exec fd is closed). Signals start with
// their default dispositions and none blocked, as after libuv's spawn.
// Returns the pid.
Napi::Value SpawnProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = StringArg(info, 0, "file");
  std::vector<std::string> args = StringArray(env, info[1], "args");
  std::vector<std::string> environment = StringArray(env, info[2], "env");
  if (args.empty()) ThrowInvalidArgument(env, "args must hold at least the program's name");
  if (!info[3].IsArray()) ThrowInvalidArgument(env, "fds must be an array of fds");
  Napi::Array fdArray = info[3].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < fdArray.Length(); i++) fds.push_back(FdValue(env, fdArray.Get(i), "fds"));
  const int count = static_cast<int>(fds.size());
  // The child's fd 3 + i is fds[i]. A dup2 onto 3 + i must not overwrite a
  // source still to be copied, so every source is first made a number above
  // all the targets: a copy in this process (F_DUPFD) for the few below that,
  // instead of spare numbers in the child above the highest fd, which a
  // supervisor holding most of its fd limit did not have ("Bad file
  // descriptor": it could not replace a crashed worker).
  const int aboveTargets = 3 + count;
  ParentCopies copies;
  for (int& fd : fds) {
    if (fd >= aboveTargets) continue;
    fd = copies.Above(fd, aboveTargets);
    if (fd < 0) ThrowErrno(env, "fcntl", errno);
  }

  SpawnSetup setup;
  int failed = 0;
  // dup2 onto another number clears close-on-exec in the child.
  for (int i = 0; i < count && failed == 0; i++)
    failed = posix_spawn_file_actions_adddup2(&setup.actions, fds[i], 3 + i);
  // Stdio: Node marks its fds 0-2 close-on-exec (Node 20.20 does), so that
  // exec would close them and the child's Node would open /dev/null in their
  // place: a worker's console output and crash stack would be lost. Each of
  // 0-2 that is open here goes to the child through a copy (dup2 onto the
  // same number leaves the flag alone in older glibc).
  for (int stdio = 0; stdio <= 2 && failed == 0; stdio++) {
    if (fcntl(stdio, F_GETFD) < 0) continue;
    const int copy = copies.Above(stdio, aboveTargets);
    if (copy < 0) ThrowErrno(env, "fcntl", errno);
    failed = posix_spawn_file_actions_adddup2(&setup.actions, copy, stdio);
  }
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  if (failed == 0) failed = posix_spawnattr_setsigdefault(&setup.attributes, &all);
  if (failed == 0) failed = posix_spawnattr_setsigmask(&setup.attributes, &none);
  if (failed == 0)
    failed = posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (failed != 0) ThrowErrno(env, "posix_spawn_file_actions", failed);

  std::vector<char*> argv = PointersTo(args);
  std::vector<char*> envp = PointersTo(environment);
  pid_t pid = 0;
  int error = posix_spawn(&pid, file.c_str(), &setup.actions, &setup.attributes, argv.data(), envp.data());
  if (error != 0) ThrowErrno(env, "posix_spawn", error, file);
  return Napi::Number::New(env, pid);
}

// reapChild(pid): null while the child runs; once it has ended, reaps it and
// returns { code } or { signal } (a signal number).
Napi::Value ReapChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t pid = Int32Arg(info, 0, "pid");
  if (pid <= 0) ThrowInvalidArgument(env, "pid must be positive");
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped < 0) ThrowErrno(env, "waitpid", errno);
  if (reaped == 0) return env.Null();
  Napi::Object outcome = Napi::Object::New(env);
  if (WIFSIGNALED(status)) outcome.Set("signal", Napi::Number::New(env, WTERMSIG(status)));
  else outcome.Set("code", Napi::Number::New(env, WEXITSTATUS(status)));
  return outcome;
}

// createChannelPair(): a connected AF_UNIX stream socket pair, both ends
// close-on-exec: one end for this process, the other for a child's fds.
Napi::Value CreateChannelPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 0) ThrowInvalidArgument(env, "createChannelPair takes no arguments");
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) ThrowErrno(env, "socketpair", errno);
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, ends[0]));
  pair.Set(1u, Napi::Number::New(env, ends[1]));
  return pair;
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnProcess", Napi::Function::New(env, SpawnProcess, "spawnProcess"));
  exports.Set("createChannelPair", Napi::Function::New(env, CreateChannelPair, "createChannelPair"));
  exports.Set("reapChild", Napi::Function::New(env, ReapChild, "reapChild"));
}

}  // namespace phoenix
