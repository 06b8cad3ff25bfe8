// OpenCL 1.2 API through the ICD loader (Debian: ocl-icd-opencl-dev, opencl-headers).
#ifndef BERTSCOPE_COPENCL_SHIM_H
#define BERTSCOPE_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#endif
