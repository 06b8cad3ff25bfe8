// The codes BertScope's kernels take for GEMM epilogues and activations: one numbering for the
// host C kernels, the OpenCL kernels (Kernels/common.cl defines the same values; a test checks
// that they agree) and Swift (`Epilogue.code`, `Activation.rawValue`).
#ifndef BERTSCOPE_CODES_H
#define BERTSCOPE_CODES_H

/* What is applied to x = A · Wᵀ before C is stored. */
enum {
  BS_EPILOGUE_NONE = 0,           /* c = x */
  BS_EPILOGUE_BIAS = 1,           /* c = x + bias */
  BS_EPILOGUE_BIAS_ACTIVATION = 2, /* c = act(x + bias) */
  BS_EPILOGUE_BIAS_RESIDUAL = 3,  /* c = (x + bias) + residual (Hugging Face's order) */
};

/* The model's activation (`hidden_act`). */
enum {
  BS_ACTIVATION_GELU = 0,      /* 0.5·x·(1 + erf(x/√2)), "gelu" */
  BS_ACTIVATION_GELU_TANH = 1, /* 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), "gelu_new" */
  BS_ACTIVATION_RELU = 2,      /* max(x, 0) */
};

#endif
