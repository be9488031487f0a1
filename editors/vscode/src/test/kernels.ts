// Kernel files the tests write into their temporary workspaces.

/** A small kernel of our own: analysed, compiled and run on the CPU in about a second. Kernel 0, line 5. */
export const DOUBLE = `import tilelang
import tilelang.language as T


@tilelang.jit
def double(A, block: int = 64):
    N = T.const("N")
    A: T.Tensor((N,), T.float32)
    B = T.empty((N,), T.float32)
    with T.Kernel(T.ceildiv(N, block), threads=64) as bx:
        for i in T.Parallel(block):
            B[bx * block + i] = A[bx * block + i] + A[bx * block + i]
    return B


def ref_program(A):
    return A + A


kernel = double.compile(N=256)
`;
