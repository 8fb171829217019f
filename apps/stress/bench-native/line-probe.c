/*
 * What one cache line costs to move between two CPUs and back, measured the
 * way a pipelined PhoenixIPC pair moves its ring indices: two threads, each
 * pinned to one CPU, bounce a counter in one 64-byte line.
 *
 * Why the bench asks it before and after every job: on a small VM the two
 * vCPUs are not always the same distance apart. The host may run them on
 * cores that share a cache (a round trip of ~140 ns was seen) or on cores
 * that do not (~600 ns), and switches between the two every few minutes.
 * A 1 × 1 pipelined row is bound by these transfers: the same build made
 * 2.6-2.8 M calls/s at ~140 ns and 2.0-2.2 M at ~600 ns (benchmarks.md).
 * Each job's line says which it ran in.
 *
 * usage: line-probe <ms>
 * Pins to the first two CPUs of the process's affinity, bounces the line in
 * batches of BATCH round trips for about <ms> milliseconds, and prints one
 * JSON line: {"cpus":[a,b],"batches":n,"roundTripNs":<median batch mean>}.
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

/* The line that travels: the caller stores odd values, the echo answers each with the next even one. */
static _Alignas(128) _Atomic long line;

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

#define STOP (-1L)

/* Answers until the caller stores STOP; unpinned if the pin fails, so that the caller never waits forever. */
static void *echo(void *raw) {
  pin(*(const int *)raw);
  for (;;) {
    long value = atomic_load_explicit(&line, memory_order_acquire);
    if (value == STOP) return NULL;
    if (value & 1) atomic_store_explicit(&line, value + 1, memory_order_release);
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: line-probe <ms>\n");
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
    fprintf(stderr, "line-probe: needs two CPUs, the affinity allows %d\n", found);
    return 2;
  }
  if (pin(cpus[0]) != 0) {
    fprintf(stderr, "line-probe: cannot pin to CPU %d\n", cpus[0]);
    return 2;
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, echo, &cpus[1]) != 0) {
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
  pthread_join(thread, NULL);
  qsort(means, (size_t)batches, sizeof means[0], compare);
  printf("{\"cpus\":[%d,%d],\"batches\":%d,\"roundTripNs\":%.1f}\n", cpus[0], cpus[1], batches, means[batches / 2]);
  return 0;
}
