// Unix-domain SOCK_SEQPACKET sockets that carry file descriptors (SCM_RIGHTS).
// Node's `net` cannot pass arbitrary fds, and the supervisor hands each
// connecting client its doorbells this way. Seqpacket keeps message
// boundaries, so the control protocol needs no framing. Every socket is
// non-blocking and close-on-exec; readiness is watched with FdWatcher.
//
// Names live in Linux's abstract namespace (no file to clean up; the name
// vanishes with the last socket). Elsewhere they are filesystem paths.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common.h"

namespace phoenix {
namespace {

constexpr size_t kMaxMessageBytes = 64 * 1024;
constexpr size_t kMaxFds = 64;

socklen_t FillAddress(Napi::Env env, const std::string& name, sockaddr_un* address) {
  std::memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (name.empty() || name.size() >= sizeof(address->sun_path) - 1) {
    ThrowInvalidArgument(env, "socket name must be 1 to 106 bytes");
  }
#ifdef __linux__
  // Abstract namespace: sun_path[0] is NUL, the name follows; length is exact.
  std::memcpy(address->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
#else
  // No abstract namespace: a socket file in /tmp, '/' in the name folded to '_'.
  std::string path = "/tmp/" + name;
  for (size_t i = 5; i < path.size(); i++) {
    if (path[i] == '/') path[i] = '_';
  }
  if (path.size() >= sizeof(address->sun_path)) ThrowInvalidArgument(env, "socket name too long for this platform");
  std::memcpy(address->sun_path, path.data(), path.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
#endif
}

int NewSocket(Napi::Env env) {
#ifdef __linux__
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  if (fd >= 0) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
#endif
  if (fd < 0) ThrowErrno(env, "socket", errno);
  return fd;
}

Napi::Value ListenSeqpacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  int32_t backlog = Int32Arg(info, 1, "backlog");
  sockaddr_un address;
  socklen_t length = FillAddress(env, name, &address);
  int fd = NewSocket(env);
#ifndef __linux__
  unlink(address.sun_path);  // a stale socket file of a dead supervisor
#endif
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "bind", err, name);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value ConnectSeqpacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  sockaddr_un address;
  socklen_t length = FillAddress(env, name, &address);
  int fd = NewSocket(env);
  // A Unix-domain connect completes at once or fails at once (EAGAIN: backlog full).
  while (connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect", err, name);
  }
  return Napi::Number::New(env, fd);
}

// Returns the accepted fd, or -1 when no connection is pending.
Napi::Value AcceptSeqpacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  for (;;) {
#ifdef __linux__
    int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int client = accept(fd, nullptr, nullptr);
    if (client >= 0) {
      fcntl(client, F_SETFD, FD_CLOEXEC);
      fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
    }
#endif
    if (client >= 0) return Napi::Number::New(env, client);
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "accept", errno);
  }
}

// sendMessage(fd, data, fds): true when sent, false when the socket buffer is full.
Napi::Value SendMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (info.Length() < 2 || !info[1].IsTypedArray()) ThrowInvalidArgument(env, "data must be a Uint8Array");
  Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
  if (typed.TypedArrayType() != napi_uint8_array) ThrowInvalidArgument(env, "data must be a Uint8Array");
  Napi::Uint8Array data = typed.As<Napi::Uint8Array>();
  if (data.ByteLength() == 0 || data.ByteLength() > kMaxMessageBytes) {
    ThrowInvalidArgument(env, "data must be 1 to 65536 bytes");
  }
  std::vector<int> fds;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsArray()) ThrowInvalidArgument(env, "fds must be an array");
    Napi::Array list = info[2].As<Napi::Array>();
    if (list.Length() > kMaxFds) ThrowInvalidArgument(env, "at most 64 fds per message");
    for (uint32_t i = 0; i < list.Length(); i++) {
      fds.push_back(FdValue(env, list.Get(i), "fds"));
    }
  }
  iovec iov{data.Data(), data.ByteLength()};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
#ifdef MSG_NOSIGNAL
  const int flags = MSG_NOSIGNAL;
#else
  const int flags = 0;
#endif
  for (;;) {
    ssize_t sent = sendmsg(fd, &message, flags);
    if (sent >= 0) return Napi::Boolean::New(env, true);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "sendmsg", errno);
  }
}

// receiveMessage(fd): { data, fds } | null (nothing pending) | { eof: true }.
Napi::Value ReceiveMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  std::vector<uint8_t> buffer(kMaxMessageBytes);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  iovec iov{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
#ifdef MSG_CMSG_CLOEXEC
  const int flags = MSG_CMSG_CLOEXEC;
#else
  const int flags = 0;
#endif
  ssize_t received;
  for (;;) {
    received = recvmsg(fd, &message, flags);
    if (received >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    if (errno == ECONNRESET) {
      received = 0;
      break;
    }
    ThrowErrno(env, "recvmsg", errno);
  }
  Napi::Array fds = Napi::Array::New(env);
  uint32_t fd_count = 0;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int* received_fds = reinterpret_cast<int*>(CMSG_DATA(header));
    for (size_t i = 0; i < count; i++) fds.Set(fd_count++, Napi::Number::New(env, received_fds[i]));
  }
  Napi::Object result = Napi::Object::New(env);
  if (received == 0 && fd_count == 0) {
    result.Set("eof", Napi::Boolean::New(env, true));
    return result;
  }
  result.Set("data", Napi::Buffer<uint8_t>::Copy(env, buffer.data(), static_cast<size_t>(received)));
  result.Set("fds", fds);
  result.Set("truncated", Napi::Boolean::New(env, (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0));
  return result;
}

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  Napi::Object result = Napi::Object::New(env);
#ifdef SO_PEERCRED
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) ThrowErrno(env, "getsockopt", errno);
  result.Set("pid", Napi::Number::New(env, credentials.pid));
  result.Set("uid", Napi::Number::New(env, credentials.uid));
  result.Set("gid", Napi::Number::New(env, credentials.gid));
#else
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) ThrowErrno(env, "getpeereid", errno);
  result.Set("pid", Napi::Number::New(env, -1));
  result.Set("uid", Napi::Number::New(env, uid));
  result.Set("gid", Napi::Number::New(env, gid));
#endif
  return result;
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("listenSeqpacket", Napi::Function::New(env, ListenSeqpacket, "listenSeqpacket"));
  exports.Set("connectSeqpacket", Napi::Function::New(env, ConnectSeqpacket, "connectSeqpacket"));
  exports.Set("acceptSeqpacket", Napi::Function::New(env, AcceptSeqpacket, "acceptSeqpacket"));
  exports.Set("sendMessage", Napi::Function::New(env, SendMessage, "sendMessage"));
  exports.Set("receiveMessage", Napi::Function::New(env, ReceiveMessage, "receiveMessage"));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
}

}  // namespace phoenix
