// FP32 FMA peak of this machine: every core runs independent chains of vector FMAs
// (enough accumulators to cover FMA latency × FMA ports), for AVX2 (8 lanes) and, when
// the CPU has it, AVX-512 (16 lanes). Prints JSON: the best GFLOPS over several trials.
//   gcc -O2 -pthread fmapeak.c -o fmapeak && ./fmapeak [threads] [seconds-per-trial] [trials]
// A multiply-add counts 2 FLOPs, as in `bertscope bench`.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHAINS 12
#define INNER 1000

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
  int wide;         // 0: AVX2, 1: AVX-512
  long iterations;  // outer iterations, each INNER × CHAINS FMAs
  float sink;
} Job;

__attribute__((target("avx2,fma"))) static float run_avx2(long iterations) {
  __m256 acc[CHAINS];
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps(0.001f * (c + 1));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; i++) {
    for (int j = 0; j < INNER; j++) {
#pragma GCC unroll 12
      for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    }
  }
  __m256 s = acc[0];
  for (int c = 1; c < CHAINS; c++) s = _mm256_add_ps(s, acc[c]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx512f"))) static float run_avx512(long iterations) {
  __m512 acc[CHAINS];
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps(0.001f * (c + 1));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; i++) {
    for (int j = 0; j < INNER; j++) {
#pragma GCC unroll 12
      for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
  }
  __m512 s = acc[0];
  for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

static void *worker(void *arg) {
  Job *job = arg;
  job->sink = job->wide ? run_avx512(job->iterations) : run_avx2(job->iterations);
  return NULL;
}

// Wall time for `threads` threads each running `iterations`.
static double timed(int threads, int wide, long iterations) {
  pthread_t tid[256];
  Job jobs[256];
  double t0 = now();
  for (int t = 0; t < threads; t++) {
    jobs[t] = (Job){wide, iterations, 0};
    pthread_create(&tid[t], NULL, worker, &jobs[t]);
  }
  for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
  double dt = now() - t0;
  volatile float keep = 0;
  for (int t = 0; t < threads; t++) keep += jobs[t].sink;
  (void)keep;
  return dt;
}

static double best_gflops(int threads, int wide, double seconds, int trials, double *median_out) {
  int lanes = wide ? 16 : 8;
  long it = 1;
  while (timed(1, wide, it) < 0.05) it *= 2;  // calibrate on one thread
  double per = timed(1, wide, it);
  long iterations = (long)(it * seconds / per) + 1;
  double flops = 2.0 * lanes * CHAINS * (double)INNER * (double)iterations * threads;
  double results[64];
  double best = 0;
  for (int k = 0; k < trials && k < 64; k++) {
    results[k] = flops / timed(threads, wide, iterations) / 1e9;
    if (results[k] > best) best = results[k];
  }
  // median
  for (int i = 1; i < trials; i++)
    for (int j = i; j > 0 && results[j] < results[j - 1]; j--) {
      double x = results[j]; results[j] = results[j - 1]; results[j - 1] = x;
    }
  *median_out = results[trials / 2];
  return best;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  double seconds = argc > 2 ? atof(argv[2]) : 0.5;
  int trials = argc > 3 ? atoi(argv[3]) : 5;
  if (threads < 1 || threads > 256 || trials < 1 || trials > 64 || seconds <= 0) {
    fprintf(stderr, "usage: fmapeak [threads 1-256] [seconds per trial] [trials 1-64]\n");
    return 2;
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    fprintf(stderr, "fmapeak: this CPU has no AVX2+FMA\n");
    return 1;
  }
  double m2, m5 = 0, b5 = 0, s1, s1m;
  double b2 = best_gflops(threads, 0, seconds, trials, &m2);
  s1 = best_gflops(1, 0, seconds, trials, &s1m);
  int has512 = __builtin_cpu_supports("avx512f");
  if (has512) b5 = best_gflops(threads, 1, seconds, trials, &m5);
  printf("{\"threads\": %d, \"trials\": %d, \"seconds_per_trial\": %.2f, "
         "\"avx2_fma_gflops_best\": %.2f, \"avx2_fma_gflops_median\": %.2f, "
         "\"avx2_fma_gflops_one_thread_best\": %.2f, \"avx512\": %s, "
         "\"avx512_fma_gflops_best\": %.2f, \"avx512_fma_gflops_median\": %.2f, "
         "\"peak_gflops\": %.2f}\n",
         threads, trials, seconds, b2, m2, s1, has512 ? "true" : "false", b5, m5, b5 > b2 ? b5 : b2);
  return 0;
}
