"""The matmul of Triton's tutorial (grouped ordering, K loop, fp16 in, fp32
accumulation, fp16 out) as Triton source. bench_triton_source.py loads this
file twice: once with Triton's own `triton`, once with terrazzo's
(`terrazzo.triton_compat`), so both compilers get exactly this text."""

BACKEND = globals().get("BACKEND", "terrazzo")  # set by the loader before the module runs
if BACKEND == "triton":
    import triton
    import triton.language as tl
else:
    import terrazzo.triton_compat as triton
    import terrazzo.triton_compat.language as tl


@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
                  GROUP_SIZE_M: tl.constexpr):
    pid = tl.program_id(axis=0)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    num_pid_in_group = GROUP_SIZE_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_SIZE_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_SIZE_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    offs_am = (pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)) % M
    offs_bn = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)) % N
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    a_ptrs = a_ptr + (offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak)
    b_ptrs = b_ptr + (offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn)

    accumulator = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k * BLOCK_SIZE_K, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k * BLOCK_SIZE_K, other=0.0)
        accumulator = tl.dot(a, b, accumulator)
        a_ptrs += BLOCK_SIZE_K * stride_ak
        b_ptrs += BLOCK_SIZE_K * stride_bk
    c = accumulator.to(tl.float16)

    offs_cm = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_cn = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    c_ptrs = c_ptr + stride_cm * offs_cm[:, None] + stride_cn * offs_cn[None, :]
    c_mask = (offs_cm[:, None] < M) & (offs_cn[None, :] < N)
    tl.store(c_ptrs, c, mask=c_mask)


@triton.jit
def nop_kernel(a_ptr, b_ptr, c_ptr, d_ptr, n, BLOCK: tl.constexpr):
    # Four tensors, an int and a constexpr (the launch-overhead case);
    # the mask is false, so nothing is written.
    offs = tl.arange(0, BLOCK)
    tl.store(a_ptr + offs, tl.load(b_ptr + offs) + tl.load(c_ptr + offs) + tl.load(d_ptr + offs), mask=offs < n)


@triton.autotune(configs=[triton.Config({"BLOCK": 64}, num_warps=4), triton.Config({"BLOCK": 128}, num_warps=4)],
                 key=["n"])
@triton.jit
def nop_kernel_autotuned(a_ptr, b_ptr, c_ptr, d_ptr, n, BLOCK: tl.constexpr):
    # nop_kernel under the autotuner: a launch once tuned (issue 17: the same
    # overhead bound holds for autotuned kernels).
    offs = tl.arange(0, BLOCK)
    tl.store(a_ptr + offs, tl.load(b_ptr + offs) + tl.load(c_ptr + offs) + tl.load(d_ptr + offs), mask=offs < n)
