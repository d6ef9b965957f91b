#!/usr/bin/env python3
"""Writes requantised copies of a GGUF with llama.cpp's own quantiser (llama-cpp-python's
`llama_model_quantize`), to check valley's kernels for other formats against llama.cpp on the
same file: Q8_0, Q4_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K by default (a Q4_1 source is requantised with
`allow_requantize`; rows whose length is not a multiple of 256 get llama.cpp's fallback types).

Usage: requantize.py SOURCE.gguf OUT_DIR [TYPE ...]   (run with the llama.cpp server's Python)
"""
import ctypes
import os
import sys

import llama_cpp

FTYPES = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q3_K_M": 12, "Q4_K_M": 15,
          "Q5_K_M": 17, "Q6_K": 18}


def main():
    src, out = sys.argv[1], sys.argv[2]
    kinds = sys.argv[3:] or ["Q8_0", "Q4_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K"]
    os.makedirs(out, exist_ok=True)
    base = os.path.basename(src).rsplit(".", 2)[0]
    for kind in kinds:
        dst = os.path.join(out, f"{base}.{kind}.gguf")
        if os.path.exists(dst):
            print(dst)
            continue
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = FTYPES[kind]
        params.allow_requantize = True
        params.nthread = os.cpu_count() or 1
        tmp = dst + ".partial"
        rc = llama_cpp.llama_model_quantize(src.encode(), tmp.encode(), ctypes.byref(params))
        if rc != 0:
            raise SystemExit(f"llama_model_quantize {kind} failed: {rc}")
        os.replace(tmp, dst)
        print(dst)


if __name__ == "__main__":
    main()
