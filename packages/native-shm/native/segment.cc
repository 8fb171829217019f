// POSIX shared-memory segments: shm_open + ftruncate + posix_fallocate + mmap(MAP_SHARED).
//
// A segment this process creates has every page reserved before anyone maps
// it (posix_fallocate). tmpfs otherwise backs pages lazily: the first touch of
// a page it cannot back (/dev/shm full) kills the toucher with SIGBUS, which no
// code can catch. Reserved, the creation fails with ENOSPC instead, and later
// pressure on /dev/shm can no longer reach the segment.
//
// The mapping is exposed to JS as an external ArrayBuffer (no copy). Its
// lifetime is tied to the ArrayBuffer: the finalizer unmaps it when the buffer
// is collected. closeSegment() unmaps early; it first detaches the buffer so
// that every view over it becomes length 0 and JS can no longer reach the
// unmapped pages. If a runtime refuses to detach, the range is replaced by a
// private anonymous mapping instead (reads see zeros, writes go nowhere).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <unordered_map>

#include "common.h"

namespace phoenix {
namespace {

struct Mapping {
  void* address;
  size_t length;
  bool shared;  // false once replaced by an anonymous private mapping
};

// Keyed by mapping address; shared by every env (worker threads) in the process.
std::mutex g_mappings_mutex;
std::unordered_map<void*, Mapping*> g_mappings;

void FinalizeMapping(Napi::Env /*env*/, void* data, Mapping* mapping) {
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  auto it = g_mappings.find(data);
  if (it != g_mappings.end() && it->second == mapping) g_mappings.erase(it);
  munmap(mapping->address, mapping->length);
  delete mapping;
}

// Allocates every page of the file now. Returns 0 or an errno (ENOSPC when
// the file system cannot hold it). Where posix_fallocate does not exist for
// shared memory (macOS), pages are not lazily backed by a sized tmpfs either.
int ReservePages(int fd, size_t length) {
#ifdef __linux__
  for (;;) {
    int err = posix_fallocate(fd, 0, static_cast<off_t>(length));
    if (err == EINTR) continue;
    // A file system without fallocate (not tmpfs): nothing to reserve with.
    if (err == EOPNOTSUPP) return 0;
    return err;
  }
#else
  (void)fd;
  (void)length;
  return 0;
#endif
}

// Something other than a regular file sits at the name (a directory, a
// FIFO, a socket): reported as shm_open's EINVAL, which glibc also gives for
// a directory opened read-write; src/native-errors.ts maps it to
// ERR_PHOENIX_BAD_SEGMENT.
[[noreturn]] void ThrowNotASegment(Napi::Env env, const std::string& name, mode_t mode) {
  const char* kind = S_ISDIR(mode) ? "directory" : S_ISFIFO(mode) ? "FIFO" : S_ISSOCK(mode) ? "socket" : "special file";
  Napi::Error error = Napi::Error::New(env, "'" + name + "' is a " + kind + ", not a shared memory segment");
  error.Set("errno", Napi::Number::New(env, EINVAL));
  error.Set("syscall", Napi::String::New(env, "shm_open"));
  error.Set("path", Napi::String::New(env, name));
  throw error;
}

Napi::Value OpenSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  bool create = BoolArg(info, 1, "create");
  bool exclusive = BoolArg(info, 2, "exclusive");
  int32_t mode = Int32Arg(info, 3, "mode");
  double size = NumberArg(info, 4, "size");
  bool read_only = BoolArg(info, 5, "readOnly");
  if (size < 0 || size > static_cast<double>(SIZE_MAX / 2)) ThrowInvalidArgument(env, "size out of range");
  if (mode < 0 || mode > 0777) ThrowInvalidArgument(env, "mode must be within 0..0o777");
  if (read_only && create) ThrowInvalidArgument(env, "readOnly cannot create");

  int fd = -1;
  bool created = false;
  int access = read_only ? O_RDONLY : O_RDWR;
  if (create) {
    fd = shm_open(name.c_str(), access | O_CREAT | O_EXCL, static_cast<mode_t>(mode));
    if (fd >= 0) {
      created = true;
      // The process umask may have narrowed the mode; the caller asked for exactly this one.
      fchmod(fd, static_cast<mode_t>(mode));
    } else if (errno != EEXIST || exclusive) {
      ThrowErrno(env, "shm_open", errno, name);
    }
  }
  if (fd < 0) {
    // O_NONBLOCK: a FIFO at the name would otherwise block the open until a
    // writer came. It changes nothing for a regular file.
    fd = shm_open(name.c_str(), access | O_NONBLOCK, 0);
    if (fd < 0) ThrowErrno(env, "shm_open", errno, name);
  }
  {
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
      close(fd);
      ThrowNotASegment(env, name, st.st_mode);
    }
  }

  size_t length = static_cast<size_t>(size);
  if (created && length > 0) {
    if (ftruncate(fd, static_cast<off_t>(length)) != 0) {
      int err = errno;
      close(fd);
      shm_unlink(name.c_str());
      ThrowErrno(env, "ftruncate", err, name);
    }
    int err = ReservePages(fd, length);
    if (err != 0) {
      close(fd);
      shm_unlink(name.c_str());
      ThrowErrno(env, "posix_fallocate", err, name);
    }
  } else {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, "fstat", err, name);
    }
    length = static_cast<size_t>(st.st_size);
  }

  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("created", Napi::Boolean::New(env, created));
  result.Set("size", Napi::Number::New(env, static_cast<double>(length)));
  if (length == 0) {
    // A file that exists but has no size yet: its creator has not truncated it.
    result.Set("buffer", Napi::ArrayBuffer::New(env, 0));
    return result;
  }
  int prot = PROT_READ | PROT_WRITE;
  // Read-only opens map copy-on-write: a stray write from JS can neither reach the
  // segment nor fault, and reads still see the owner's updates until then.
  int flags = read_only ? MAP_PRIVATE : MAP_SHARED;
  void* address = mmap(nullptr, length, prot, flags, fd, 0);
  if (address == MAP_FAILED) {
    int err = errno;
    close(fd);
    if (created) shm_unlink(name.c_str());
    ThrowErrno(env, "mmap", err, name);
  }
  Mapping* mapping = new Mapping{address, length, true};
  {
    std::lock_guard<std::mutex> lock(g_mappings_mutex);
    g_mappings[address] = mapping;
  }
  result.Set("buffer", Napi::ArrayBuffer::New(env, address, length, FinalizeMapping, mapping));
  return result;
}

// Unmaps the segment behind `buffer` now. Returns false if it was already closed.
Napi::Value CloseSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) ThrowInvalidArgument(env, "buffer must be an ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  void* data = buffer.Data();
  Mapping* mapping = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mappings_mutex);
    auto it = g_mappings.find(data);
    if (it == g_mappings.end() || !it->second->shared) return Napi::Boolean::New(env, false);
    mapping = it->second;
  }
  bool detached = napi_detach_arraybuffer(env, buffer) == napi_ok;
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  if (detached) {
    // The finalizer still runs later; it owns the Mapping and the final munmap.
    // Swap in an anonymous mapping so that munmap there stays well defined.
    mmap(mapping->address, mapping->length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  } else {
    mmap(mapping->address, mapping->length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
         0);
  }
  mapping->shared = false;
  return Napi::Boolean::New(env, true);
}

Napi::Value UnlinkSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  if (shm_unlink(name.c_str()) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "shm_unlink", errno, name);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Object StatToObject(Napi::Env env, const struct stat& st) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("exists", Napi::Boolean::New(env, true));
  result.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  result.Set("uid", Napi::Number::New(env, st.st_uid));
  result.Set("gid", Napi::Number::New(env, st.st_gid));
  result.Set("mode", Napi::Number::New(env, st.st_mode & 07777));
  result.Set("inode", Napi::Number::New(env, static_cast<double>(st.st_ino)));
  result.Set("links", Napi::Number::New(env, static_cast<double>(st.st_nlink)));
  return result;
}

Napi::Value StatSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  struct stat st;
#ifdef __linux__
  std::string path = "/dev/shm" + name;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      Napi::Object missing = Napi::Object::New(env);
      missing.Set("exists", Napi::Boolean::New(env, false));
      return missing;
    }
    ThrowErrno(env, "stat", errno, name);
  }
#else
  int fd = shm_open(name.c_str(), O_RDONLY, 0);
  if (fd < 0) {
    if (errno == ENOENT) {
      Napi::Object missing = Napi::Object::New(env);
      missing.Set("exists", Napi::Boolean::New(env, false));
      return missing;
    }
    ThrowErrno(env, "shm_open", errno, name);
  }
  int rc = fstat(fd, &st);
  int err = errno;
  close(fd);
  if (rc != 0) ThrowErrno(env, "fstat", err, name);
#endif
  return StatToObject(env, st);
}

Napi::Value StatFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowErrno(info.Env(), "fstat", errno);
  return StatToObject(info.Env(), st);
}

// statvfs(2): the size and free space of the file system holding `path`
// (/dev/shm for segments), so an oversized segment is refused before it
// takes any memory.
Napi::Value StatFileSystem(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) ThrowErrno(env, "statvfs", errno, path);
  Napi::Object result = Napi::Object::New(env);
  double unit = static_cast<double>(st.f_frsize != 0 ? st.f_frsize : st.f_bsize);
  result.Set("totalBytes", Napi::Number::New(env, unit * static_cast<double>(st.f_blocks)));
  result.Set("freeBytes", Napi::Number::New(env, unit * static_cast<double>(st.f_bavail)));
  return result;
}

// flock(2) on a segment fd: mode 0 unlocks, 1 shared, 2 exclusive.
// Returns false when non-blocking and someone else holds the lock.
Napi::Value LockFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int32_t mode = Int32Arg(info, 1, "mode");
  bool non_blocking = BoolArg(info, 2, "nonBlocking");
  int op = mode == 0 ? LOCK_UN : mode == 1 ? LOCK_SH : mode == 2 ? LOCK_EX : -1;
  if (op < 0) ThrowInvalidArgument(env, "mode must be 0, 1 or 2");
  if (non_blocking) op |= LOCK_NB;
  while (flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "flock", errno);
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void InitSegment(Napi::Env env, Napi::Object exports) {
  exports.Set("openSegment", Napi::Function::New(env, OpenSegment, "openSegment"));
  exports.Set("closeSegment", Napi::Function::New(env, CloseSegment, "closeSegment"));
  exports.Set("unlinkSegment", Napi::Function::New(env, UnlinkSegment, "unlinkSegment"));
  exports.Set("statSegment", Napi::Function::New(env, StatSegment, "statSegment"));
  exports.Set("statFd", Napi::Function::New(env, StatFd, "statFd"));
  exports.Set("lockFd", Napi::Function::New(env, LockFd, "lockFd"));
  exports.Set("statFileSystem", Napi::Function::New(env, StatFileSystem, "statFileSystem"));
}

}  // namespace phoenix
