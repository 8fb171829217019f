/*
 * The physical limit for the PhoenixIPC benchmark: request/response between
 * two processes over POSIX shared memory, in C, with nothing else in the way.
 * One self-contained file on purpose (a little over 400 lines): the bench
 * compiles it with the system compiler, without a build system.
 *
 *   caller process                       echo process (fork of the caller)
 *   +------------+   request ring (SPSC)   +------------+
 *   |            | ----------------------> |            |
 *   |   caller   |                         |    echo    |   memcpy request -> reply
 *   |            | <---------------------- |            |
 *   +------------+   response ring (SPSC)  +------------+
 *        ^  eventfd "reply ready"               ^  eventfd "request ready"
 *
 * Both rings live in one segment made with shm_open + mmap (unlinked as soon
 * as both sides have it mapped). Each ring has SLOTS fixed-size slots; the
 * producer writes a slot, then publishes the tail with a release store; the
 * consumer reads the tail with an acquire load (partner of that store), copies
 * the slot out, then releases the head.
 *
 * Wake-up modes:
 *   spin     the waiter busy-polls (pause instruction); 100% of a core while waiting.
 *   eventfd  the waiter parks at once: it stores PARKED=1, re-checks the ring,
 *            and blocks in read(eventfd). The producer, after publishing, loads
 *            PARKED and writes the eventfd only if it can swap PARKED 1 -> 0
 *            (the same Dekker handshake PhoenixIPC uses; seq_cst on both sides
 *            so one of them always sees the other: no lost wake-up).
 *
 * Phases (one run per payload size):
 *   ping-pong 1:1        warm-up, then sequential calls; one latency sample each
 *   pipelined 1:1 xN     up to N requests in flight
 *   idle                 the connected pair sits idle for idle-ms
 * Every reply is checked against its request (length, stamp, content).
 * CPU: getrusage(RUSAGE_SELF) in each process; the echo side reports its own
 * through the rings (a REPORT request), so both are microsecond-exact.
 *
 * usage: pingpong <spin|eventfd> <payload-bytes> <warmup-calls> <warmup-max-ms>
 *                 <latency-calls> <latency-max-ms> <pipelined-calls> <pipelined-max-ms>
 *                 <in-flight> <idle-ms> <samples-file>
 * Each phase ends at its call count or its time limit, whichever comes first.
 * Prints one JSON line on stdout; latency samples (u32 ns each) go to samples-file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 64
#define CACHE_LINE 64
#define SLOT_HEADER_BYTES 16
#define ID_STOP 0xffffffffu
#define ID_REPORT 0xfffffffeu
/* A wait longer than this means the peer is gone: fail instead of hanging. */
#define WAIT_LIMIT_NS (20LL * 1000 * 1000 * 1000)

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define CPU_RELAX() atomic_signal_fence(memory_order_seq_cst)
#endif

/* Ring header: each hot word on its own cache line. */
struct ring {
  _Alignas(CACHE_LINE) _Atomic uint64_t head; /* next slot the consumer reads */
  _Alignas(CACHE_LINE) _Atomic uint64_t tail; /* next slot the producer writes */
  _Alignas(CACHE_LINE) _Atomic uint32_t parked; /* consumer is (about to be) asleep */
  _Alignas(CACHE_LINE) unsigned char slots[];
};

/* Slot: u32 length, u32 id, 8 bytes reserved, then the payload. */
struct slot_header {
  uint32_t length;
  uint32_t id;
  uint64_t reserved;
};

static int spin_mode;
static size_t slot_bytes;
static int request_efd, response_efd;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t cpu_us(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (int64_t)usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec + (int64_t)usage.ru_stime.tv_sec * 1000000 +
         usage.ru_stime.tv_usec;
}

static void die(const char *what) {
  fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
  exit(2);
}

static unsigned char *slot_at(struct ring *ring, uint64_t index) {
  return ring->slots + (index % SLOTS) * slot_bytes;
}

/* Producer: after publishing, wake the consumer only if it parked (see header comment). */
static void wake_if_parked(struct ring *ring, int efd) {
  if (spin_mode) return;
  if (atomic_load_explicit(&ring->parked, memory_order_seq_cst) == 0) return;
  uint32_t expected = 1;
  if (!atomic_compare_exchange_strong_explicit(&ring->parked, &expected, 0, memory_order_seq_cst,
                                               memory_order_seq_cst))
    return;
  uint64_t one = 1;
  if (write(efd, &one, sizeof one) != sizeof one) die("write(eventfd)");
}

/* Consumer: wait until the ring holds at least one record; returns the tail seen. */
static uint64_t wait_readable(struct ring *ring, int efd) {
  uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
  /* acquire: partner of the producer's release store of tail; the slot bytes are visible after it. */
  uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
  if (tail != head) return tail;
  int64_t started = now_ns();
  for (unsigned polls = 1;; polls++) {
    if (spin_mode) {
      CPU_RELAX();
    } else {
      atomic_store_explicit(&ring->parked, 1, memory_order_seq_cst);
      tail = atomic_load_explicit(&ring->tail, memory_order_seq_cst);
      if (tail != head) {
        atomic_store_explicit(&ring->parked, 0, memory_order_relaxed);
        return tail;
      }
      uint64_t count;
      if (read(efd, &count, sizeof count) != sizeof count && errno != EINTR) die("read(eventfd)");
      atomic_store_explicit(&ring->parked, 0, memory_order_relaxed);
    }
    tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (tail != head) return tail;
    if ((polls & 0xffff) == 0 && now_ns() - started > WAIT_LIMIT_NS) {
      fprintf(stderr, "pingpong: the peer did not answer within %lld s\n", WAIT_LIMIT_NS / 1000000000LL);
      exit(3);
    }
  }
}

static void publish(struct ring *ring, uint64_t tail, int efd) {
  /* release: partner of the consumer's acquire load of tail; orders the slot writes before it. */
  atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
  if (!spin_mode) atomic_thread_fence(memory_order_seq_cst);
  wake_if_parked(ring, efd);
}

/* ------------------------------------------------------------------ echo side */

static void echo_loop(struct ring *requests, struct ring *responses) {
  for (;;) {
    wait_readable(requests, request_efd);
    uint64_t head = atomic_load_explicit(&requests->head, memory_order_relaxed);
    unsigned char *in = slot_at(requests, head);
    struct slot_header header;
    memcpy(&header, in, sizeof header);
    if (header.id == ID_STOP) _exit(0);
    /* The caller never has more than SLOTS requests + replies outstanding: the reply slot is free. */
    uint64_t tail = atomic_load_explicit(&responses->tail, memory_order_relaxed);
    unsigned char *out = slot_at(responses, tail);
    if (header.id == ID_REPORT) {
      int64_t cpu = cpu_us();
      struct slot_header reply = {sizeof cpu, ID_REPORT, 0};
      memcpy(out, &reply, sizeof reply);
      memcpy(out + SLOT_HEADER_BYTES, &cpu, sizeof cpu);
    } else {
      memcpy(out, &header, sizeof header);
      memcpy(out + SLOT_HEADER_BYTES, in + SLOT_HEADER_BYTES, header.length);
    }
    /* release: partner of the caller's acquire load of head when it checks for room. */
    atomic_store_explicit(&requests->head, head + 1, memory_order_release);
    publish(responses, tail, response_efd);
  }
}

/* ---------------------------------------------------------------- caller side */

static struct ring *requests, *responses;
static unsigned char *request_template; /* the payload with its stamp */
static unsigned char *reply_copy;
static size_t payload_bytes;
static uint64_t verified, mismatches;

static void stamp(uint32_t id) {
  if (payload_bytes >= 4) memcpy(request_template, &id, 4);
  if (payload_bytes >= 8) memcpy(request_template + payload_bytes - 4, &id, 4);
}

static void send_request(uint32_t id, uint32_t length, const unsigned char *payload) {
  uint64_t tail = atomic_load_explicit(&requests->tail, memory_order_relaxed);
  unsigned char *out = slot_at(requests, tail);
  struct slot_header header = {length, id, 0};
  memcpy(out, &header, sizeof header);
  if (length > 0) memcpy(out + SLOT_HEADER_BYTES, payload, length);
  publish(requests, tail, request_efd);
}

/* Takes one reply (waiting for it) and copies its payload out; returns its header. */
static struct slot_header take_reply(void) {
  wait_readable(responses, response_efd);
  uint64_t head = atomic_load_explicit(&responses->head, memory_order_relaxed);
  unsigned char *in = slot_at(responses, head);
  struct slot_header header;
  memcpy(&header, in, sizeof header);
  if (header.length > payload_bytes && header.id != ID_REPORT) {
    fprintf(stderr, "pingpong: reply of %u bytes to a %zu-byte request\n", header.length, payload_bytes);
    exit(4);
  }
  memcpy(reply_copy, in + SLOT_HEADER_BYTES, header.length);
  /* release: the slot may be reused by the echo side once head moves past it. */
  atomic_store_explicit(&responses->head, head + 1, memory_order_release);
  return header;
}

static int has_reply(void) {
  uint64_t head = atomic_load_explicit(&responses->head, memory_order_relaxed);
  return atomic_load_explicit(&responses->tail, memory_order_acquire) != head;
}

static void check_reply(struct slot_header header, uint32_t expected_id) {
  stamp(expected_id);
  if (header.id != expected_id || header.length != payload_bytes ||
      memcmp(reply_copy, request_template, payload_bytes) != 0)
    mismatches++;
  verified++;
}

static int64_t peer_cpu_us(void) {
  send_request(ID_REPORT, 0, NULL);
  struct slot_header header = take_reply();
  if (header.id != ID_REPORT) {
    fprintf(stderr, "pingpong: expected a REPORT reply\n");
    exit(4);
  }
  int64_t cpu;
  memcpy(&cpu, reply_copy, sizeof cpu);
  return cpu;
}

static struct slot_header call_once(uint32_t id) {
  stamp(id);
  send_request(id, (uint32_t)payload_bytes, request_template);
  return take_reply();
}

int main(int argc, char **argv) {
  if (argc != 12) {
    fprintf(stderr,
            "usage: pingpong <spin|eventfd> <payload-bytes> <warmup-calls> <warmup-max-ms> <latency-calls> "
            "<latency-max-ms> <pipelined-calls> <pipelined-max-ms> <in-flight> <idle-ms> <samples-file>\n");
    return 1;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the benchmark that started us */
  spin_mode = strcmp(argv[1], "spin") == 0;
  if (!spin_mode && strcmp(argv[1], "eventfd") != 0) {
    fprintf(stderr, "pingpong: mode must be spin or eventfd\n");
    return 1;
  }
  payload_bytes = strtoul(argv[2], NULL, 10);
  long warmup_calls = strtol(argv[3], NULL, 10);
  int64_t warmup_max_ns = strtoll(argv[4], NULL, 10) * 1000000LL;
  long latency_calls = strtol(argv[5], NULL, 10);
  int64_t latency_max_ns = strtoll(argv[6], NULL, 10) * 1000000LL;
  long pipelined_calls = strtol(argv[7], NULL, 10);
  int64_t pipelined_max_ns = strtoll(argv[8], NULL, 10) * 1000000LL;
  long in_flight = strtol(argv[9], NULL, 10);
  long idle_ms = strtol(argv[10], NULL, 10);
  const char *samples_path = argv[11];
  if (in_flight < 1 || in_flight > SLOTS) {
    fprintf(stderr, "pingpong: in-flight must be 1..%d\n", SLOTS);
    return 1;
  }

  slot_bytes = (SLOT_HEADER_BYTES + payload_bytes + 8 + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
  size_t ring_bytes = sizeof(struct ring) + SLOTS * slot_bytes;
  ring_bytes = (ring_bytes + 4095) / 4096 * 4096;
  char name[64];
  snprintf(name, sizeof name, "/phx_bench_c_%d", (int)getpid());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) die("shm_open");
  if (ftruncate(fd, (off_t)(2 * ring_bytes)) != 0) {
    shm_unlink(name);
    die("ftruncate");
  }
  unsigned char *base = mmap(NULL, 2 * ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    shm_unlink(name);
    die("mmap");
  }
  close(fd);
  memset(base, 0, 2 * ring_bytes); /* pre-fault every page: no first-touch faults in the measurement */
  requests = (struct ring *)base;
  responses = (struct ring *)(base + ring_bytes);
  request_efd = eventfd(0, EFD_CLOEXEC);
  response_efd = eventfd(0, EFD_CLOEXEC);
  if (request_efd < 0 || response_efd < 0) die("eventfd");

  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    echo_loop(requests, responses);
  }
  /* Both processes map the segment now: the name can go (nothing leaks if we are killed). */
  shm_unlink(name);

  request_template = malloc(payload_bytes + 8);
  reply_copy = malloc(payload_bytes + 8);
  uint32_t *samples = calloc((size_t)latency_calls + 1, sizeof(uint32_t));
  if (!request_template || !reply_copy || !samples) die("malloc");
  for (size_t i = 0; i < payload_bytes; i++) request_template[i] = (unsigned char)(i * 31 + 7);

  uint32_t id = 0;
  /* ping-pong 1:1 -------------------------------------------------- warm-up */
  int64_t warmup_start = now_ns();
  for (long i = 0; i < warmup_calls; i++) {
    ++id;
    check_reply(call_once(id), id);
    if ((i & 63) == 63 && now_ns() - warmup_start >= warmup_max_ns) break;
  }
  /* ping-pong 1:1 -------------------------------------------------- measured */
  int64_t peer0 = peer_cpu_us(), self0 = cpu_us(), start = now_ns();
  long latency_done = 0;
  while (latency_done < latency_calls) {
    ++id;
    int64_t t0 = now_ns();
    struct slot_header header = call_once(id);
    int64_t t1 = now_ns();
    check_reply(header, id);
    int64_t ns = t1 - t0;
    samples[latency_done++] = ns > 0xffffffffLL ? 0xffffffffu : (uint32_t)ns;
    if ((latency_done & 63) == 0 && t1 - start >= latency_max_ns) break;
  }
  int64_t latency_ns = now_ns() - start, self1 = cpu_us(), peer1 = peer_cpu_us();

  /* pipelined 1:1 x in_flight ---------------------------------------------- */
  int64_t peer2 = peer_cpu_us(), self2 = cpu_us();
  int64_t pipe_start = now_ns();
  uint32_t first = id + 1;
  uint32_t next_send = first, next_recv = first;
  long pipelined_done = 0, next_clock_check = 256;
  int stop_sending = 0;
  for (;;) {
    while (!stop_sending && (long)(next_send - next_recv) < in_flight &&
           (long)(next_send - first) < pipelined_calls) {
      stamp(next_send);
      send_request(next_send, (uint32_t)payload_bytes, request_template);
      next_send++;
    }
    if (next_recv == next_send) break;
    /* take every reply there is (waiting for the first) */
    do {
      struct slot_header header = take_reply();
      check_reply(header, next_recv);
      next_recv++;
      pipelined_done++;
    } while (next_recv != next_send && has_reply());
    if (pipelined_done >= next_clock_check) {
      next_clock_check += 256;
      if (now_ns() - pipe_start >= pipelined_max_ns) stop_sending = 1;
    }
  }
  int64_t pipelined_ns = now_ns() - pipe_start, self3 = cpu_us(), peer3 = peer_cpu_us();
  id = next_send - 1;

  /* idle ------------------------------------------------------------------ */
  int64_t peer4 = peer_cpu_us(), self4 = cpu_us(), idle_start = now_ns();
  struct timespec pause = {idle_ms / 1000, (idle_ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
  int64_t idle_ns = now_ns() - idle_start, self5 = cpu_us(), peer5 = peer_cpu_us();

  send_request(ID_STOP, 0, NULL);
  int status = 0;
  waitpid(child, &status, 0);

  FILE *out = fopen(samples_path, "wb");
  if (!out) die("fopen(samples)");
  if (fwrite(samples, sizeof(uint32_t), (size_t)latency_done, out) != (size_t)latency_done) die("fwrite(samples)");
  fclose(out);

  printf("{\"mode\":\"%s\",\"payloadBytes\":%zu,\"latency\":{\"calls\":%ld,\"ns\":%lld,\"callerCpuUs\":%lld,"
         "\"peerCpuUs\":%lld},\"pipelined\":{\"calls\":%ld,\"ns\":%lld,\"inFlight\":%ld,\"callerCpuUs\":%lld,"
         "\"peerCpuUs\":%lld},\"idle\":{\"ns\":%lld,\"callerCpuUs\":%lld,\"peerCpuUs\":%lld},"
         "\"verified\":%llu,\"mismatches\":%llu,\"echoPid\":%d}\n",
         spin_mode ? "spin" : "eventfd", payload_bytes, latency_done, (long long)latency_ns,
         (long long)(self1 - self0), (long long)(peer1 - peer0), pipelined_done, (long long)pipelined_ns, in_flight,
         (long long)(self3 - self2), (long long)(peer3 - peer2), (long long)idle_ns, (long long)(self5 - self4),
         (long long)(peer5 - peer4), (unsigned long long)verified, (unsigned long long)mismatches, (int)child);
  return mismatches == 0 && WIFEXITED(status) ? 0 : 5;
}
