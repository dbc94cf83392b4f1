"""bitstack-wasm's kernels from Python, through the documented ABI only (docs/ABI.md).

Wasmtime (Cranelift) runs build/kernels.simd.wasm: no JavaScript anywhere. The script
repeats the three "host ABI" cases of test/cases/host.mjs — a matmul, an SVD, and one
BitStack block with its LUT matrix-vector product — and prints the SHA-256 of each
case's outputs, which must equal test/golden.json (the bytes every JS runtime produces).

    python3 -m venv .venv && .venv/bin/pip install wasmtime   # or the wheel file
    .venv/bin/python examples/python/host.py build/kernels.simd.wasm [--json]
"""

import hashlib
import json
import struct
import sys

from wasmtime import Engine, Instance, Module, Store


class Kernels:
    """The module's exports with the ABI's conventions: unsigned addresses, statuses checked."""

    def __init__(self, path):
        engine = Engine()
        self.store = Store(engine)
        self.instance = Instance(self.store, Module.from_file(engine, path), [])
        self.ex = self.instance.exports(self.store)
        self.memory = self.ex["memory"]
        if self.const("ABI_VERSION") != 2:
            raise RuntimeError(f"this host speaks ABI version 2, the module {self.const('ABI_VERSION')}")

    def const(self, name):
        return self.ex[name].value(self.store)

    def call(self, name, *args):
        return self.ex[name](self.store, *args)

    def check(self, name, *args):
        status = self.call(name, *args)
        if status != self.const("STATUS_OK"):
            raise RuntimeError(f"{name} returned status {status}")

    # Memory: alloc returns a u32 address (0 when memory cannot grow); mark/release free scratch.
    def alloc(self, nbytes):
        ptr = self.call("alloc", nbytes) & 0xFFFFFFFF
        if ptr == 0:
            raise MemoryError(f"alloc({nbytes})")
        return ptr

    def put_f32(self, values):
        ptr = self.alloc(4 * len(values))
        self.memory.write(self.store, struct.pack(f"<{len(values)}f", *values), ptr)
        return ptr

    def get(self, ptr, nbytes):
        return bytes(self.memory.read(self.store, ptr, ptr + nbytes))


def lcg_f32(n, seed):
    """(s >> 8)/2^24 − 0.5 of the LCG s ← 1664525·s + 1013904223 mod 2^32 (exact in f32), as test/cases/host.mjs."""
    out, s = [], seed & 0xFFFFFFFF
    for _ in range(n):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out.append((s >> 8) / 2**24 - 0.5)
    return out


def sha256(*chunks):
    return hashlib.sha256(b"".join(chunks)).hexdigest()


def matmul(k):
    m, kk, n = 37, 53, 29
    a, b, c = k.put_f32(lcg_f32(m * kk, 1)), k.put_f32(lcg_f32(kk * n, 2)), k.alloc(4 * m * n)
    k.check("gemm_f32", a, b, c, m, kk, n, 0, 0, 0)
    return sha256(k.get(c, 4 * m * n))


def svd(k):
    m, n = 24, 16
    p = min(m, n)
    a = k.put_f32(lcg_f32(m * n, 3))
    s, u, vt, out = k.alloc(4 * p), k.alloc(4 * m * p), k.alloc(4 * p * n), k.alloc(8)
    k.check("svd_full", 0, a, m, n, 1, s, u, vt, 30, out)
    sweeps, converged = struct.unpack("<ii", k.get(out, 8))
    assert converged == 1 and sweeps > 0
    return sha256(k.get(u, 4 * m * p), k.get(s, 4 * p), k.get(vt, 4 * p * n))


def bitstack(k):
    m, n, rank = 40, 56, 4
    # The residual starts as the weight and is updated in place.
    r = k.put_f32(lcg_f32(m * n, 4))
    sign_bytes = (m * n + 7) // 8
    signs = k.alloc(sign_bytes + 1)  # one padding byte, zero: unaligned sign reads may touch it
    k.memory.write(k.store, b"\0" * (sign_bytes + 1), signs)
    a16, b16 = k.alloc(2 * m * rank), k.alloc(2 * rank * n)
    scales = k.alloc(4 * rank)  # int8 factors only; unused with f16
    a32, b32, out = k.alloc(4 * m * rank), k.alloc(4 * rank * n), k.alloc(24)
    k.check(
        "bitstack_block", r, m, n, rank, 1 << (rank - 1), k.const("BITSTACK_FACTORS_F16"),
        k.const("BITSTACK_METHOD_KRYLOV"), 4, 4, 0, 1, signs, a16, b16, scales, scales + 2 * rank, a32, b32, out,
    )
    chosen = struct.unpack_from("<i", k.get(out + 16, 4))[0]
    assert chosen == rank
    # Products read f32 factors: decode the stored halves.
    k.call("f16_to_f32", a16, m * rank, a32)
    k.call("f16_to_f32", b16, rank * n, b32)
    x = k.put_f32(lcg_f32(n, 5))
    y = k.alloc(4 * m)
    k.memory.write(k.store, b"\0" * (4 * m), y)  # the kernel adds into y
    scratch = k.alloc(k.call("bitstack_lut_scratch", m) & 0xFFFFFFFF)
    k.call("bitstack_lut_gemv", signs, m, n, a32, b32, rank, x, y, scratch)
    return sha256(k.get(signs, sign_bytes), k.get(a16, 2 * m * rank), k.get(b16, 2 * rank * n), k.get(y, 4 * m))


CASES = {
    "host ABI: matmul 37×53·53×29 (gemm_f32)": matmul,
    "host ABI: svd of 24×16 (svd_full, f32): U, S, Vt": svd,
    "host ABI: one BitStack block (bitstack_block, rank 4, f16) and its LUT matvec (bitstack_lut_gemv)": bitstack,
}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "build/kernels.simd.wasm"
    kernels = Kernels(path)
    hashes = {}
    for name, case in CASES.items():
        top = kernels.call("mark") & 0xFFFFFFFF
        hashes[name] = case(kernels)
        kernels.call("release", top)
    if "--json" in sys.argv:
        print(json.dumps(hashes))
    else:
        for name, h in hashes.items():
            print(f"{h}  {name}")


if __name__ == "__main__":
    main()
