// The device's FP32 multiply-add peak, for the roofline of `bertscope profile`: every work-item
// runs CHAINS independent chains of floatW FMAs (enough independent work to hide the FMA
// latency on GPUs and to fill the vector units of CPU devices), then stores their sum so that
// nothing is optimised away. FLOPs = global size × iters × CHAINS × W lanes × 2.
// Build option -DWIDTH=4|8|16 (default 4): CPU runtimes such as PoCL need the wide vector to
// fill an AVX-512 unit (a loop-carried chain is not vectorised across work-items); the host
// measures every width and keeps the best.
//
//   out   [global size]  one float per work-item (ignored by the host)
//   iters                multiply-adds per chain
//   a, c                 x ← x·a + c, with a < 1 so every chain stays near c / (1 − a)
//
// NDRange (any multiple of the local size,), local (any).
#define CHAINS 8
#ifndef WIDTH
#define WIDTH 4
#endif
#define CAT(a, b) a##b
#define VEC(w) CAT(float, w)
typedef VEC(WIDTH) floatw;

__kernel void kernel_fma_peak(__global float* out, const int iters, const float a, const float c) {
  const floatw av = (floatw)(a);
  const floatw cv = (floatw)(c);
  const float seed = (float)(get_global_id(0) & 1023) * 1e-3f;
  floatw x0 = (floatw)(seed);
  floatw x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f;
  floatw x4 = x0 + 4.0f, x5 = x0 + 5.0f, x6 = x0 + 6.0f, x7 = x0 + 7.0f;
  for (int i = 0; i < iters; i++) {
    x0 = fma(x0, av, cv);
    x1 = fma(x1, av, cv);
    x2 = fma(x2, av, cv);
    x3 = fma(x3, av, cv);
    x4 = fma(x4, av, cv);
    x5 = fma(x5, av, cv);
    x6 = fma(x6, av, cv);
    x7 = fma(x7, av, cv);
  }
  const floatw s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
  float total = 0.0f;
  for (int k = 0; k < WIDTH; k++) total += ((const float*)&s)[k];
  out[get_global_id(0)] = total;
}
