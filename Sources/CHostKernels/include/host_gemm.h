// BertScope's own host GEMM for the linear layers (the CPU backend's default where the CPU
// has AVX-512; OpenBLAS otherwise). C = epilogue(A · Wᵀ), W in Hugging Face's [out][in]
// layout, packed once at load time.
#ifndef BERTSCOPE_HOST_GEMM_H
#define BERTSCOPE_HOST_GEMM_H
#include <stddef.h>

#include "bs_codes.h"

/* Columns per packed weight panel: column ranges handed to bs_gemm start at a multiple of it. */
#define BS_GEMM_PANEL 64

/* 1 when this CPU can run the AVX-512 kernel; bs_gemm must not be called otherwise. */
int bs_gemm_available(void);

/* Floats the packed form of an [n][k] weight takes. */
size_t bs_gemm_packed_count(int n, int k);

/* Packs a row-major [n][k] weight into panels of BS_GEMM_PANEL columns, k-major inside a
   panel, zero past column n. */
void bs_gemm_pack(const float *weight, int n, int k, float *packed);

/* On the calling thread: c[m][n] (rows ldc apart) = epilogue(a[m][k] (rows lda apart) · Wᵀ).
   `packed` is bs_gemm_pack's output advanced to the panel of the first column wanted
   (+ (col0 / BS_GEMM_PANEL) * k * BS_GEMM_PANEL, col0 a multiple of BS_GEMM_PANEL); `bias`,
   `residual` and `c` point at that column too. Epilogues, as Hugging Face orders them:
   bias: x + bias; bias + residual: (x + bias) + residual (rows ldr apart);
   bias + activation: act(x + bias). c may be residual itself (ldr == ldc). */
void bs_gemm(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
             const float *residual, int ldr, int epilogue, int activation, float *c, int ldc);

#endif
