"""Synchronisation of the workers of one parallel region (spin waits on shared counters).

The task-parallel drivers (:mod:`.multispin_tasks`, :mod:`.local_sweep`) run all the sweeps
of a call in a single parallel region, because starting a region costs tens of microseconds
on a virtual machine (the sleeping worker thread has to be woken). Workers publish their
progress in int64 counters (one per cache line, ``LINE`` apart) with release stores and wait
for the counters they depend on with acquire loads; :func:`mode` lets them agree on static
ownership of the tasks when they all run at once, or on dynamic claiming otherwise.
:func:`prefetch` asks for the cache lines a task is about to use, some of which the other
core wrote last.
"""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_SPINS_BEFORE_YIELD = 2000
_ARRIVAL_SPINS = 20000      # then the workers that did not arrive are taken to run later
STATIC = 1
LINE = 8                   # int64 counters per cache line: one progress counter per line
DYNAMIC = 2
_sched_yield = types.ExternalFunction("sched_yield", types.int32())


def _is_counter_array(ary):
    return isinstance(ary, types.Array) and ary.dtype == types.int64 and ary.ndim == 1


def _pointer(context, builder, aryty, ary, index):
    array = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, array, [index], wraparound=False)


@intrinsic
def fetch_add(typingctx, ary, index, value):
    """``old = ary[index]; ary[index] += value; return old`` atomically (int64 1-D array)."""
    if not _is_counter_array(ary):
        return None

    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return types.int64(ary, types.intp, types.int64), codegen


@intrinsic
def load_acquire(typingctx, ary, index):
    """``ary[index]`` read with acquire ordering (later reads see writes released before it)."""
    if not _is_counter_array(ary):
        return None

    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(ary, types.intp), codegen


@intrinsic
def store_release(typingctx, ary, index, value):
    """``ary[index] = value`` with release ordering (earlier writes become visible first)."""
    if not _is_counter_array(ary):
        return None

    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()

    return types.void(ary, types.intp, types.int64), codegen


@intrinsic
def compare_and_swap(typingctx, ary, index, expected, value):
    """Atomically ``ary[index] = value`` if it equals ``expected``; returns the old value."""
    if not _is_counter_array(ary):
        return None

    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        result = builder.cmpxchg(ptr, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(result, 0)

    return types.int64(ary, types.intp, types.int64, types.int64), codegen


@njit(cache=True, nogil=True)
def wait_at_least(ary, index, target):
    """Spin until ``ary[index] >= target`` and return that value; yields the core after a while."""
    spins = 0
    value = load_acquire(ary, index)
    while value < target:
        spins += 1
        if spins > _SPINS_BEFORE_YIELD:
            _sched_yield()
        value = load_acquire(ary, index)
    return value



@njit(cache=True, nogil=True)
def mode(control, n_workers):
    """Agree on the scheduling mode: static if all workers run at once, else dynamic.

    Each worker registers in control[0]; the first to see all ``n_workers`` registered, or to
    give up waiting, fixes control[1] (compare-and-swap, so every worker follows one decision).
    Static ownership of rows is only safe when all workers run concurrently; dynamic claiming
    is safe whatever runs (for example the workers one after another on one thread).
    """
    fetch_add(control, 0, 1)
    spins = 0
    while load_acquire(control, 1) == 0:
        if load_acquire(control, 0) >= n_workers:
            compare_and_swap(control, 1, 0, STATIC)
        elif spins > _ARRIVAL_SPINS:
            compare_and_swap(control, 1, 0, DYNAMIC)
        spins += 1
        if spins > _SPINS_BEFORE_YIELD:
            _sched_yield()
    return load_acquire(control, 1)


@intrinsic
def prefetch(typingctx, ary, index, write):
    """Ask for the cache line of ``ary[index]`` (1-D array) ahead of use; ``write``: literal 0/1.

    LLVM ``llvm.prefetch`` into the first-level cache (``prefetcht0``, or ``prefetchw`` for a
    line about to be written). A hint: it changes no value, and a bad index does not fault.
    """
    if not (isinstance(ary, types.Array) and ary.ndim == 1
            and isinstance(write, types.IntegerLiteral) and write.literal_value in (0, 1)):
        return None

    def codegen(context, builder, signature, args):
        ptr = _pointer(context, builder, signature.args[0], args[0], args[1])
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(signature.args[2].literal_value),
                          i32(3), i32(1)])    # locality 3 (all cache levels), data cache
        return context.get_dummy_value()

    return types.void(ary, types.intp, write), codegen
