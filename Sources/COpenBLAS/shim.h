// The few OpenBLAS entry points BertScope uses, declared here so that the build does not
// depend on where a distribution puts cblas.h (Debian: under openblas-pthread/).
// Signatures follow the reference CBLAS and OpenBLAS's own headers.
#ifndef BERTSCOPE_COPENBLAS_SHIM_H
#define BERTSCOPE_COPENBLAS_SHIM_H

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE transA, enum CBLAS_TRANSPOSE transB,
                 int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);
void openblas_set_num_threads(int threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif
