// OpenBLAS sgemm GFLOPS on given shapes, as the encoder calls it: C[M×N] = A[M×K] · Wᵀ
// with W stored [N×K] (row-major, NoTrans × Trans), in two ways:
//   "threaded":  one call, OpenBLAS's own threads (openblas_set_num_threads(THREADS));
//   "rowblocks": THREADS threads of ours, each a single-threaded call on its block of rows
//                (how BertScope's CPU backend calls it).
//   gcc -O2 -pthread sgemm.c -o sgemm -lopenblas
//   ./sgemm THREADS MIN_SECONDS M:K:N [M:K:N ...]
// Prints one JSON object per line and mode:
//   {"mode","m","k","n","threads","gflops_median","gflops_best","calls"}.
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  long m0, rows, k, n;
  const float *a, *w;
  float *c;
} Block;

static void *block_worker(void *arg) {
  Block *b = arg;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b->rows, b->n, b->k, 1, b->a + b->m0 * b->k, b->k, b->w, b->k, 0,
              b->c + b->m0 * b->n, b->n);
  return NULL;
}

// One product C = A·Wᵀ, threaded by OpenBLAS (rowblocks == 0) or by us in row blocks.
static void product(int rowblocks, int threads, long m, long k, long n, const float *a, const float *w, float *c) {
  if (!rowblocks) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, w, k, 0, c, n);
    return;
  }
  pthread_t tid[64];
  Block blocks[64];
  long per = (m + threads - 1) / threads;
  int used = 0;
  for (int t = 0; t < threads; t++) {
    long m0 = t * per;
    if (m0 >= m) break;
    blocks[t] = (Block){m0, m - m0 < per ? m - m0 : per, k, n, a, w, c};
    used++;
  }
  for (int t = 1; t < used; t++) pthread_create(&tid[t], NULL, block_worker, &blocks[t]);
  block_worker(&blocks[0]);
  for (int t = 1; t < used; t++) pthread_join(tid[t], NULL);
}

static void measure(int rowblocks, int threads, double min_seconds, long m, long k, long n, const float *a, const float *w, float *c) {
  openblas_set_num_threads(rowblocks ? 1 : threads);
  for (int i = 0; i < 3; i++) product(rowblocks, threads, m, k, n, a, w, c);  // warm-up
  // Samples of at least ~2 ms each (several products for tiny shapes), until min_seconds.
  double flops = 2.0 * m * n * k;
  double t0 = now();
  product(rowblocks, threads, m, k, n, a, w, c);
  double one = now() - t0;
  int per = one < 0.002 ? (int)(0.002 / (one > 1e-7 ? one : 1e-7)) + 1 : 1;
  static double samples[4096];
  int count = 0;
  double start = now();
  while ((now() - start < min_seconds || count < 5) && count < 4096) {
    double t = now();
    for (int r = 0; r < per; r++) product(rowblocks, threads, m, k, n, a, w, c);
    samples[count++] = flops * per / (now() - t) / 1e9;
  }
  qsort(samples, count, sizeof(double), cmp);
  printf("{\"mode\": \"%s\", \"m\": %ld, \"k\": %ld, \"n\": %ld, \"threads\": %d, \"gflops_median\": %.2f, \"gflops_best\": %.2f, \"calls\": %d, \"check\": %.3f}\n",
         rowblocks ? "rowblocks" : "threaded", m, k, n, threads, samples[count / 2], samples[count - 1], count * per,
         c[(m - 1) * n + n - 1]);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: sgemm THREADS MIN_SECONDS M:K:N [M:K:N ...]\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  double min_seconds = atof(argv[2]);
  if (threads < 1 || threads > 64) {
    fprintf(stderr, "sgemm: THREADS must be 1-64\n");
    return 2;
  }
  for (int s = 3; s < argc; s++) {
    long m, k, n;
    if (sscanf(argv[s], "%ld:%ld:%ld", &m, &k, &n) != 3 || m < 1 || k < 1 || n < 1) {
      fprintf(stderr, "sgemm: bad shape %s (want M:K:N)\n", argv[s]);
      return 2;
    }
    float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
    if (!a || !w || !c) {
      fprintf(stderr, "sgemm: out of memory for %s\n", argv[s]);
      return 1;
    }
    for (long i = 0; i < m * k; i++) a[i] = (float)((i * 7) % 13) * 0.01f;
    for (long i = 0; i < n * k; i++) w[i] = (float)((i * 5) % 11) * 0.01f;
    measure(0, threads, min_seconds, m, k, n, a, w, c);
    measure(1, threads, min_seconds, m, k, n, a, w, c);
    free(a); free(w); free(c);
  }
  return 0;
}
