"""allocate_tensors(): from a loaded model and input shapes to a prepared C plan.

1. Shapes: every reachable subgraph is planned in op order; each op's Python prepare checks the
   node and computes its output shapes and kernel parameters (tflite_rt/ops/).
2. Memory: activations of a subgraph share one arena region; the greedy planner below places the
   largest tensors first at the lowest offset that does not collide with a tensor alive at the
   same time. Inputs, outputs and variables live for the whole run.
3. The C plan: the tensor table with final data pointers, then each node, whose C prepare runs
   once (weight packing, multipliers).
"""
import functools
import mmap
import os

import numpy as np

from . import _core, _folding, _loadspecs
from . import ops as _ops
from .builder import encode_strings
from .model import paused_gc
from .ops._base import NUMPY_TYPES, ModelError, Node, TensorInfo
from .ops import _node
from .ops.elementwise import note_logistic

ALIGNMENT = 64
STRING = 5
_LITTLE_ENDIAN = {code: dtype.newbyteorder("<") for code, dtype in NUMPY_TYPES.items()}


@functools.lru_cache(maxsize=None)
def _physical_memory():
    """Bytes of memory of this machine (asked once: every aligned copy of a constant checks it)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _aligned_empty(nbytes, zeroed=True):
    """A uint8 buffer, zeroed unless asked not to be, whose data starts on an ALIGNMENT boundary."""
    # Refused before trying: with the kernel overcommitting memory the allocation could succeed
    # and the first invoke be killed for it.
    physical = _physical_memory()
    if physical and nbytes > physical:
        raise MemoryError("the model's tensors need %d bytes, more than this machine's %d bytes of memory"
                          % (nbytes, physical))
    raw = (np.zeros if zeroed else np.empty)(nbytes + ALIGNMENT, dtype=np.uint8)
    start = (-_core.address(raw)) % ALIGNMENT
    return raw[start:start + nbytes]


def _const_values(specs):
    """(values, whether any of these tensors is sparse). values: the constants held by these
    tensors' buffers, as aligned numpy arrays of their shapes (None for a tensor without one).
    A buffer the file does not align enough for its type is copied: all such copies share one
    allocation, each on an ALIGNMENT boundary of its own."""
    # most are made in one compiled loop; here strings, what the file does not align, and
    # anything unusual
    values, rest, any_sparse = _loadspecs.constant_arrays(specs, _LITTLE_ENDIAN, STRING)
    misaligned = []   # (position, dtype) of the buffers to copy
    for position in rest:
        spec = specs[position]
        data = spec.data
        if spec.type == STRING:
            values[position] = np.asarray(data)
            continue
        dtype = _LITTLE_ENDIAN[spec.type]
        if _core.address(data) % max(dtype.itemsize, 16 if len(data) >= 16 else 1):
            misaligned.append((position, dtype))
        else:
            values[position] = _shaped(spec, data.view(dtype))
    if misaligned:
        starts, total = [], 0
        for position, _dtype in misaligned:
            starts.append(total)
            total += -(-len(specs[position].data) // ALIGNMENT) * ALIGNMENT
        copies = _aligned_empty(total, zeroed=False)   # every byte a constant uses is written next
        for (position, dtype), start in zip(misaligned, starts):
            data = specs[position].data
            copy = copies[start:start + len(data)]
            copy[:] = data
            values[position] = _shaped(specs[position], copy.view(dtype))
    return values, any_sparse


def _shaped(spec, values):
    # a sparse constant holds only its kept values, in storage order (see ops/quant.py DENSIFY)
    return values if spec.sparsity is not None else values.reshape(spec.shape)


class Variables:
    """Storage that outlives invokes and re-allocation: variable tensors and resource variables.

    Keyed by (subgraph, tensor index) for variable tensors and ("resource", name) for resource
    variables; a value is (TensorInfo, bytes)."""

    def __init__(self):
        self.stores = {}

    def storage(self, t, size):
        key = (t.subgraph, t.index) if t.subgraph >= 0 else ("resource", t.name)
        entry = self.stores.get(key)
        if entry is None or len(entry[1]) != size:
            entry = (t, _aligned_empty(max(size, 1))[:size])
            self.stores[key] = entry
            reset_variable(t, entry[1])
        return entry[1]

    def reset(self):
        for t, store in self.stores.values():
            reset_variable(t, store)


class PlannedSubgraph:
    def __init__(self, spec):
        self.spec = spec
        self.index = spec.index
        self.nodes = []
        self.planned = False
        self.planning = False
        self.sigmoid_inputs = {}   # LOGISTIC output id -> its input, for the nodes planned so far


class Planner:
    def __init__(self, model, input_shapes, num_threads, preserve_all_tensors=False,
                 variables=None):
        self.model = model
        self.input_shapes = input_shapes  # {(subgraph, tensor index): shape}
        self.num_threads = num_threads
        self.preserve_all_tensors = preserve_all_tensors
        self.variables = variables or Variables()
        self.tensors = []      # every TensorInfo, by global id
        self.by_subgraph = []  # per subgraph: list of TensorInfo (local index -> info)
        self.has_sparse = False  # whether any tensor is a sparse constant
        tensors = self.tensors
        for sg in model.subgraphs:
            first_id, sg_index = len(tensors), sg.index
            specs = sg.tensors
            values, any_sparse = _const_values(specs)
            local = _node.tensor_infos(first_id, sg_index, specs, values)
            tensors.extend(local)
            self.by_subgraph.append(local)
            self.has_sparse = self.has_sparse or any_sparse
        self.subgraphs = [PlannedSubgraph(sg) for sg in model.subgraphs]
        self.extra_tensors = []  # storage the planner adds (resource variables)
        self.resource_of = {}      # resource tensor id -> variable name
        self.resource_ids = {}     # variable name -> the id VAR_HANDLE writes
        self.variable_storage = {} # variable name -> its storage TensorInfo

    # -- shapes ----------------------------------------------------------------------------
    def plan_entry(self, index):
        sg = self.subgraphs[index]
        if sg.planned:
            return
        for t in sg.spec.inputs:
            key = (index, t)
            if key in self.input_shapes:
                self.by_subgraph[index][t].shape = tuple(self.input_shapes[key])
        self.plan_subgraph(sg)

    def plan_subgraph(self, sg):
        sg.planning = True
        tensors = self.by_subgraph[sg.index]
        nodes = sg.nodes
        check_sparse = self.has_sparse
        for spec in sg.spec.operators:
            name = spec.op_name
            node = Node.of_operator(spec, tensors, sg.index, self)
            prepare = _ops.registered(name)
            if prepare is None or not _core.builtin_supported(spec.code):
                if spec.custom_code is not None and name == "CUSTOM":
                    node.fail("custom op %r is not supported", spec.custom_code)
                node.fail("tflite_rt has no kernel for this op")
            if check_sparse and name != "DENSIFY":
                for t in node.inputs:
                    if t is not None and t.sparsity is not None and t.const is not None:
                        node.fail("takes the sparse constant %r, which only DENSIFY can read", t.name)
            for t in node.outputs:
                if t.const is not None:
                    node.fail("output tensor %d (%r) is a constant", t.index, t.name)
            try:
                prepare(node)
                _folding.fold(node)
            except ModelError:
                raise
            except (ValueError, IndexError, ArithmeticError) as e:
                # numpy refusing operands that the op's own checks let through: still a fault
                # of this op in this model, and reported as one
                node.fail("operands it cannot take (%s)", e)
            nodes.append(node)
            if name == "LOGISTIC":
                note_logistic(sg.sigmoid_inputs, node)
        sg.planning = False
        sg.planned = True

    def plan_subgraph_for(self, node, index, input_shapes):
        """Plans a subgraph called by a control-flow node with these input shapes."""
        if not 0 <= index < len(self.subgraphs):
            node.fail("subgraph %d does not exist", index)
        sg = self.subgraphs[index]
        if sg.planning:
            node.fail("subgraph %d calls itself", index)
        inputs = [self.by_subgraph[index][i] for i in sg.spec.inputs]
        if len(inputs) != len(input_shapes):
            node.fail("subgraph %d takes %d inputs, the node passes %d", index, len(inputs),
                      len(input_shapes))
        if sg.planned:
            if any(t.shape != tuple(s) for t, s in zip(inputs, input_shapes)):
                node.fail("subgraph %d is called with input shapes %s but was planned for %s",
                          index, [list(s) for s in input_shapes], [list(t.shape) for t in inputs])
        else:
            for t, s in zip(inputs, input_shapes):
                t.shape = tuple(s)
            self.plan_subgraph(sg)
        return [self.by_subgraph[index][i] for i in sg.spec.outputs]

    def add_storage_tensor(self, like, name):
        """A new persistent tensor (e.g. a resource variable's value) shaped like `like`."""
        info = TensorInfo(id=len(self.tensors), index=-1, subgraph=-1, name=name, type=like.type,
                          shape=like.shape, shape_signature=like.shape, scales=like.scales,
                          zero_points=like.zero_points, quantized_dimension=like.quantized_dimension,
                          constant=None, is_variable=True, sparsity=None, buffer=0)
        self.tensors.append(info)
        self.extra_tensors.append(info)
        return info


# Ops whose output holds its input's bytes unchanged: strings alias them, the arena shares them.
_SHAPE_ONLY_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def _string_roots(planner):
    """Non-constant string tensors -> the tensor whose bytes they share. String bytes vary with
    the data, so they live outside the arena, and reshapes of a string alias their input."""
    roots = {}
    for sg in planner.subgraphs:
        for t in planner.by_subgraph[sg.index]:
            if t.type == STRING:
                roots[t.id] = t.id
        for node in sg.nodes:
            src = node.inputs[0] if node.inputs else None
            if node.name in _SHAPE_ONLY_OPS and src is not None and src.id in roots:
                roots[node.outputs[0].id] = roots[src.id]
    return roots


def lifetimes(sg, tensors_of_sg):
    """{tensor id: (first step, last step)} for the arena tensors of a planned subgraph (the
    loop is compiled: ops/_node.pyx).

    Subgraph inputs and outputs live from before the first step (-1) to after the last (n)."""
    return _node.lifetimes(sg.nodes, tensors_of_sg, sg.spec.inputs, sg.spec.outputs)


def _share_reshaped(sg, tensors_of_sg, life, sizes):
    """Lets the output of each shape-only op of a planned subgraph share its input's arena bytes,
    as TFLite's in-place ops do, so its kernel copies nothing (csrc/ops/movement/shape.c).
    Returns {output id: id of the tensor whose bytes it shares}, and changes `life` (see
    lifetimes) to match: each output leaves it, its span joining that tensor's.

    Only arena tensors that are neither the subgraph's inputs nor its outputs share: those are
    buffers a caller or a calling op hands over or reads on its own. Nothing is written into an
    op's input, and each tensor is written once (the loader checks), so the shared bytes hold
    the same values for both from the op on."""
    boundary = {tensors_of_sg[i].id for i in sg.spec.inputs}
    boundary.update(tensors_of_sg[i].id for i in sg.spec.outputs)
    roots = {}
    for node in sg.nodes:
        if node.name not in _SHAPE_ONLY_OPS or not node.inputs or node.inputs[0] is None:
            continue
        x, y = node.inputs[0], node.outputs[0]
        root = roots.get(x.id, x.id)
        if (x.type == STRING or root in boundary or y.id in boundary or root not in life
                or y.id not in life or sizes[root] != sizes[y.id]):
            continue
        first, last = life[root]
        y_first, y_last = life.pop(y.id)
        life[root] = (min(first, y_first), max(last, y_last))
        roots[y.id] = root
    return roots


def greedy_offsets(items):
    """items: [(id, nbytes, first, last)] -> ({id: offset}, arena size).

    Largest first (ties: earliest first step, then lowest id); each tensor goes at the lowest
    aligned offset that does not overlap, in memory, any already placed tensor whose lifetime
    overlaps its own. Each tensor takes its size rounded up to ALIGNMENT, and at least
    ALIGNMENT. The loop is in _core.greedy_arena: it compares every pair of tensors, which in
    C costs less than indexing them by step in Python."""
    if not items:
        return {}, 0
    ids, sizes, firsts, lasts = zip(*items)
    offsets, total = _core.greedy_arena(ids, sizes, firsts, lasts, ALIGNMENT)
    return dict(zip(ids, offsets)), total


def linear_offsets(items):
    """The baseline: every tensor its own place (what preserve_all_tensors asks for)."""
    offsets, total = {}, 0
    for tid, size, _f, _l in items:
        offsets[tid] = total
        total += (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT or ALIGNMENT
    return offsets, total


class TensorViews:
    """tensor id -> uint8 view of the tensor's bytes, through get(). The byte views of constants
    are made when first asked for: most never are."""

    __slots__ = ("made", "constants")

    def __init__(self):
        self.made = {}        # tensor id -> view
        self.constants = {}   # tensor id -> constant array whose view is not made yet

    def __setitem__(self, tid, view):
        self.made[tid] = view

    def add_constant(self, tid, array):
        self.constants[tid] = array

    def get(self, tid, default=None):
        view = self.made.get(tid)
        if view is None:
            array = self.constants.get(tid)   # left there: another thread may be asking too
            if array is None:
                return default
            view = self.made[tid] = array.reshape(-1).view(np.uint8)
        return view


class Allocation:
    """The result of allocate_tensors(): a ready C plan and the memory it points into."""

    def __init__(self, planner, plan, arena, storage, arena_naive_bytes):
        self.planner = planner
        self.plan = plan
        self.arena = arena
        self.storage = storage            # tensor id -> numpy uint8 buffer (variables, constants)
        self.arena_naive_bytes = arena_naive_bytes
        self.views = TensorViews()        # tensor id -> uint8 view of its bytes
        self.strings = {}                 # root string tensor id -> its encoded bytes
        self.string_roots = _string_roots(planner)

    def set_string_bytes(self, tid, raw):
        """Points a string tensor, and every reshape of it, at new encoded bytes."""
        root = self.string_roots[tid]
        buf = np.frombuffer(bytes(raw), np.uint8)
        self.strings[root] = buf  # replaces (and so frees) the previous bytes: C is repointed below
        for t_id, r in self.string_roots.items():
            if r == root:
                t = self.planner.tensors[t_id]
                self.views[t_id] = buf
                self.plan.set_tensor(t_id, t.type, t.shape, buf.ctypes.data, len(buf))

    def tensor_bytes(self, tid):
        return self.views.get(tid)


def allocate(model, input_shapes, num_threads, preserve_all_tensors, variables, entry_subgraphs):
    with paused_gc():
        return _allocate(model, input_shapes, num_threads, preserve_all_tensors, variables,
                         entry_subgraphs)


def _allocate(model, input_shapes, num_threads, preserve_all_tensors, variables, entry_subgraphs):
    planner = Planner(model, input_shapes, num_threads, preserve_all_tensors, variables)
    for index in entry_subgraphs:
        planner.plan_entry(index)

    # Memory: one region per planned subgraph, one arena in all.
    tensors = planner.tensors
    sizes = _node.tensor_nbytes(tensors)   # by tensor id
    items_by_sg = []
    naive = 0
    shared = {}   # tensor id -> the id whose arena bytes it shares
    for sg in planner.subgraphs:
        if not sg.planned:
            items_by_sg.append([])
            continue
        local = planner.by_subgraph[sg.index]
        life = lifetimes(sg, local)
        naive += sum(sizes[tid] for tid in life)
        if not preserve_all_tensors:
            shared.update(_share_reshaped(sg, local, life, sizes))
        items_by_sg.append([(tid, sizes[tid], f, l) for tid, (f, l) in life.items()])
    offsets, total = {}, 0
    for items in items_by_sg:
        offs, size = (linear_offsets if preserve_all_tensors else greedy_offsets)(items)
        if total:
            offs = {tid: total + off for tid, off in offs.items()}
        offsets.update(offs)
        total += size
    for tid, root in shared.items():
        offsets[tid] = offsets[root]
    # Not zeroed, as TFLite's arena is not: every op writes its outputs before anything reads
    # them, and zeroing a few MB costs more than many of the ops' prepares together.
    arena = _aligned_empty(max(total, ALIGNMENT), zeroed=False)
    arena_address = _core.address(arena)

    plan = _core.Plan(len(tensors), len(model.subgraphs), num_threads)
    plan.keep(arena)
    allocation = Allocation(planner, plan, arena, {}, naive)
    views = allocation.views
    string_roots = allocation.string_roots
    # the arena tensors and plain constants in one compiled loop; strings, variables, sparse
    # and strided constants and unreachable tensors here
    rest = plan.set_planned_tensors(tensors, sizes, offsets, arena, views.made, views.constants, STRING)
    for t in rest:
        tid = t.id
        size = sizes[tid]
        shape = t.shape
        if string_roots and tid in string_roots:
            root = string_roots[tid]
            if root not in allocation.strings:
                source = tensors[root].const
                raw = bytes(source) if source is not None else encode_strings([b""] * t.size)
                allocation.strings[root] = np.frombuffer(raw, np.uint8)
            view = allocation.strings[root]
            size = len(view)
            plan.keep(view)
            views[tid] = view
            address = _core.address(view)
            if t.sparsity is not None and t.const is not None:
                shape = t.const.shape   # as a numeric sparse constant below
        elif t.const is not None:
            const = t.const
            if t.type != STRING and const.flags.c_contiguous:
                plan.keep(const)
                views.add_constant(tid, const)   # the same bytes, viewed when asked for
                address, nbytes = _core.address(const), const.nbytes
            else:   # bytes of their own, made now, which C then reads
                view = np.frombuffer(bytes(const), np.uint8) if t.type == STRING else \
                    const.reshape(-1).view(np.uint8)
                plan.keep(view)
                views[tid] = view
                address, nbytes = _core.address(view), view.nbytes
            if t.sparsity is not None:
                # in C a sparse constant is the 1-D vector of its stored values
                shape, size = const.shape, nbytes
        elif t.is_variable:
            view = planner.variables.storage(t, size)
            plan.keep(view)
            views[tid] = view
            address = _core.address(view)
        else:
            plan.set_tensor(tid, t.type, shape, 0, 0)   # unreachable from any planned subgraph
            continue
        if not size:
            address = arena_address
        if t.quantized:
            plan.set_tensor(tid, t.type, shape, address, size, t.scale, t.zero_point, t.scales,
                            t.zero_points, t.quantized_dimension or 0)
        else:
            plan.set_tensor(tid, t.type, shape, address, size, 0.0, t.zero_point, None, None,
                            t.quantized_dimension or 0)
    # Every subgraph is declared before any node is prepared: control-flow nodes check the
    # signatures of the subgraphs they call.
    for sg in planner.subgraphs:
        local = planner.by_subgraph[sg.index]
        if sg.planned:
            plan.set_subgraph(sg.index, len(sg.nodes), [local[i].id for i in sg.spec.inputs],
                              [local[i].id for i in sg.spec.outputs])
        else:
            plan.set_subgraph(sg.index, 0, [], [])
    packed_pages = _PackedPages(model.raw, planner)
    for sg in planner.subgraphs:
        if not sg.nodes:
            continue
        try:
            plan.add_nodes(sg.index, sg.nodes, packed_pages.releases(sg))
        except _core.CoreError as e:
            raise ModelError(str(e)) from None
    for sg in planner.subgraphs:
        _node.settle(sg.nodes)
    return allocation


# Ops whose C prepare copies a constant filter (input 1) into a layout of its own.
_MIN_RELEASE = 16 * mmap.PAGESIZE   # smaller filters are not worth a system call
_PACKING_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


class _PackedPages:
    """Gives back the file pages of filters the kernels have packed.

    With model_path the model is a read-only file mapping, so a filter the kernels copied into
    their own layout would otherwise sit in memory twice. Its pages are dropped from the process
    (MADV_DONTNEED) once the last op using it is prepared, so the peak holds each filter only
    once. Nothing is lost: a file page that is read again, by get_tensor() for instance, comes
    back from the file. Only pages wholly inside a filter are dropped, only filters that
    nothing but packing ops read, and only in runs of _MIN_RELEASE or more."""

    def __init__(self, raw, planner):
        self.after = {}   # (subgraph, node position) -> (address, nbytes) of pages to drop
        if not isinstance(raw, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED") or not len(raw):
            return
        base = _core.address(np.frombuffer(raw, np.uint8))
        last_use = _node.packed_filter_last_uses([(sg.index, sg.nodes) for sg in planner.subgraphs],
                                                 _PACKING_OPS)
        page, file_size, address = mmap.PAGESIZE, len(raw), _core.address
        for sg_index, position, t in last_use.values():
            const = t.const
            nbytes = const.nbytes
            if nbytes < _MIN_RELEASE:
                continue   # whole pages inside it are fewer bytes still
            start = address(const) - base
            end = start + nbytes
            if start < 0 or end > file_size:
                continue   # an aligned copy, not the file's pages
            first = -(-start // page) * page
            last = end // page * page
            if last - first >= _MIN_RELEASE:
                self.after[sg_index, position] = (base + first, last - first)

    def releases(self, sg):
        """Per node of sg, in order: None, or the (address, nbytes) to drop once it is prepared."""
        releases = [None] * len(sg.nodes)
        for (sg_index, position), pages in self.after.items():
            if sg_index == sg.index:
                releases[position] = pages
        return releases


def reset_variable(t, store):
    """Variables start from zero (the zero point, for quantized int8 tensors), as TFLite resets them."""
    fill = t.zero_point if (t.quantized and t.type == 9) else 0
    store[:] = np.uint8(fill & 0xFF)
