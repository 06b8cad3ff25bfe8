// zlib (Debian: zlib1g-dev), used to compress PNG image data.
#ifndef BERTSCOPE_CZLIB_SHIM_H
#define BERTSCOPE_CZLIB_SHIM_H
#include <zlib.h>
#endif
