# expect: TL102
"""Count the distinct token ids in each row of a (rows, length) int32 matrix.

A block marks every id of its row in a bool "seen" table with one flag per
possible id, then counts the set flags.

Defect: TileLang cannot merge bool buffers into the dynamic arena, so
T.alloc_shared(..., "bool") is forced to a static `__shared__` array, and
static shared memory is capped at 48 KiB per block. With a 65536-entry
vocabulary the table is 64 KiB, so ptxas rejects the kernel for sm_80, sm_86,
sm_89 and sm_90 (only sm_90a, TileLang's choice on Hopper, accepts it). Pack
the flags into a uint32 bitmap (8 KiB) or keep them in a uint8 buffer in
shared.dyn.
"""

import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[1])
def count_distinct(rows, length, vocab, threads=256):
    @T.prim_func
    def main(
        ids: T.Tensor((rows, length), "int32"),
        counts: T.Tensor((rows,), "int32"),
    ):
        with T.Kernel(rows, threads=threads) as row:
            seen = T.alloc_shared((vocab,), "bool")
            tx = T.get_thread_binding(0)
            n = T.alloc_var("int32")

            for k in T.serial(vocab // threads):
                seen[k * threads + tx] = False
            T.sync_threads()
            for k in T.serial(T.ceildiv(length, threads)):
                if k * threads + tx < length:
                    seen[ids[row, k * threads + tx]] = True
            T.sync_threads()
            n = 0
            for k in T.serial(vocab // threads):
                if seen[k * threads + tx]:
                    n = n + 1
            if tx == 0:
                counts[row] = 0
            T.sync_threads()
            T.atomic_add(counts[row], n)

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        return
    kernel = count_distinct(1024, 4096, 65536, threads=256)
    ids = torch.randint(0, 65536, (1024, 4096), device="cuda", dtype=torch.int32)
    ref = torch.tensor([len(torch.unique(r)) for r in ids], device="cuda", dtype=torch.int32)
    torch.testing.assert_close(kernel(ids), ref)


if __name__ == "__main__":
    main()
