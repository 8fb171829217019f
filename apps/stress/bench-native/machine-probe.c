/*
 * Which setting of the machine a bench job runs in. On a small VM neither
 * the distance between the two vCPUs nor their speed is fixed: the host may
 * run them on cores that share a cache or on cores that do not, and may give
 * a vCPU a core that something else keeps busy. Both change every few
 * minutes, or seconds, and move a pipelined PhoenixIPC row by up to 2x
 * (docs/benchmarks.md, "This machine's costs"). So the bench asks before and
 * after every job:
 *
 *   line  two threads, pinned to the first two CPUs, bounce a counter in one
 *         64-byte line, the way a caller and a worker move ring indices: the
 *         median round trip of batches of BATCH (~100 ns when the cores share
 *         a cache here, ~430 ns when they do not);
 *   loop  the same two threads, each on its CPU and both at once, time a
 *         fixed amount of cheap, independent integer work (LOOP_OPS
 *         operations): the median per thread, in ns. It runs ~1.45x slower
 *         on a vCPU whose core is shared, while the line does not move.
 *
 * usage: machine-probe <line-ms>
 * Bounces the line for about <line-ms> milliseconds, then runs LOOP_SAMPLES
 * loop samples (~1 ms each), and prints one JSON line:
 *   {"cpus":[a,b],"batches":n,"roundTripNs":x,"loopNs":[a,b]}
 * Exits 2 with a message on stderr when it cannot (fewer than two CPUs).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCH 256
#define MAX_BATCHES 4096
#define STOP (-1L)
#define LOOP_WORDS 1024
#define LOOP_REPS 6000
#define LOOP_OPS ((long)LOOP_WORDS * LOOP_REPS)
#define LOOP_SAMPLES 7

/* The line that travels: the caller stores odd values, the echo answers each with the next even one. */
static _Alignas(128) _Atomic long line;
/* Both loop threads start each sample together: each waits for the other's count to reach its own. */
static _Alignas(128) _Atomic int loop_ready[2];

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Eight independent chains over an L1-resident array: bound by the core's throughput, not by latency. */
static unsigned loop_once(const unsigned *words) {
  unsigned s0 = 1, s1 = 2, s2 = 3, s3 = 4, s4 = 5, s5 = 6, s6 = 7, s7 = 8;
  for (int rep = 0; rep < LOOP_REPS; rep++) {
    for (int i = 0; i < LOOP_WORDS; i += 8) {
      s0 += words[i] ^ s1;
      s1 += words[i + 1] ^ s2;
      s2 += words[i + 2] ^ s3;
      s3 += words[i + 3] ^ s4;
      s4 += words[i + 4] ^ s5;
      s5 += words[i + 5] ^ s6;
      s6 += words[i + 6] ^ s7;
      s7 += words[i + 7] ^ s0;
    }
  }
  return s0 ^ s1 ^ s2 ^ s3 ^ s4 ^ s5 ^ s6 ^ s7;
}

/* LOOP_SAMPLES samples on this thread's CPU, each started with the other thread's; returns the median in ns. */
static double loop_median(int me) {
  unsigned words[LOOP_WORDS];
  for (int i = 0; i < LOOP_WORDS; i++) words[i] = (unsigned)i * 2654435761u;
  double samples[LOOP_SAMPLES];
  volatile unsigned sink = 0;
  for (int sample = 0; sample < LOOP_SAMPLES; sample++) {
    atomic_store(&loop_ready[me], sample + 1);
    while (atomic_load(&loop_ready[1 - me]) < sample + 1) {
    }
    double t0 = now_ns();
    sink ^= loop_once(words);
    samples[sample] = now_ns() - t0;
  }
  (void)sink;
  qsort(samples, LOOP_SAMPLES, sizeof samples[0], compare);
  return samples[LOOP_SAMPLES / 2];
}

struct echo_args {
  int cpu;
  double loop_ns;
};

/* The second CPU's thread: answers until the caller stores STOP, then runs its loop samples. Unpinned if the pin fails. */
static void *echo(void *raw) {
  struct echo_args *args = raw;
  pin(args->cpu);
  for (;;) {
    long value = atomic_load_explicit(&line, memory_order_acquire);
    if (value == STOP) break;
    if (value & 1) atomic_store_explicit(&line, value + 1, memory_order_release);
  }
  args->loop_ns = loop_median(1);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: machine-probe <line-ms>\n");
    return 2;
  }
  double budget_ns = atof(argv[1]) * 1e6;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    perror("sched_getaffinity");
    return 2;
  }
  int cpus[2], found = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
    if (CPU_ISSET(cpu, &allowed)) cpus[found++] = cpu;
  if (found < 2) {
    fprintf(stderr, "machine-probe: needs two CPUs, the affinity allows %d\n", found);
    return 2;
  }
  if (pin(cpus[0]) != 0) {
    fprintf(stderr, "machine-probe: cannot pin to CPU %d\n", cpus[0]);
    return 2;
  }
  struct echo_args args = {cpus[1], 0};
  pthread_t thread;
  if (pthread_create(&thread, NULL, echo, &args) != 0) {
    perror("pthread_create");
    return 2;
  }
  static double means[MAX_BATCHES];
  int batches = 0;
  long value = 0;
  double started = now_ns();
  while (batches < MAX_BATCHES) {
    double t0 = now_ns();
    for (int i = 0; i < BATCH; i++) {
      value += 2;
      atomic_store_explicit(&line, value - 1, memory_order_release);
      while (atomic_load_explicit(&line, memory_order_acquire) != value) {
      }
    }
    double t1 = now_ns();
    means[batches++] = (t1 - t0) / BATCH;
    if (t1 - started >= budget_ns) break;
  }
  atomic_store_explicit(&line, STOP, memory_order_release);
  double loop_ns = loop_median(0);
  pthread_join(thread, NULL);
  qsort(means, (size_t)batches, sizeof means[0], compare);
  printf("{\"cpus\":[%d,%d],\"batches\":%d,\"roundTripNs\":%.1f,\"loopNs\":[%.0f,%.0f]}\n", cpus[0], cpus[1], batches,
         means[batches / 2], loop_ns, args.loop_ns);
  return 0;
}
