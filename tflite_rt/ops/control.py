"""Control flow (WHILE, IF, CALL_ONCE) and resource variables.

Called subgraphs are planned for the shapes the node passes them. Shapes that would change
between loop iterations or differ between branches need data-dependent allocation, which the
static planner does not do: such models are refused with a clear message."""
from ._base import BOOL, I32, op

RESOURCE = 13


def _same_signature(node, what, got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape or g.type != w.type:
            node.fail("%s %d is %s%s but must be %s%s (shapes that change at run time are not "
                      "supported)", what, i, g.type_name, list(g.shape), w.type_name, list(w.shape))


def _forward_resources(node, inputs, subgraph):
    """A resource handle passed into a subgraph names the same variable inside it."""
    planner = node.planner
    callee = planner.by_subgraph[subgraph]
    for t, i in zip(inputs, planner.subgraphs[subgraph].spec.inputs):
        if t is not None and t.id in planner.resource_of:
            planner.resource_of[callee[i].id] = planner.resource_of[t.id]


@op("WHILE")
def while_loop(node):
    cond, body = int(node.opt("cond_subgraph_index", 0)), int(node.opt("body_subgraph_index", 0))
    if len(node.inputs) != len(node.outputs):
        node.fail("has %d inputs but %d outputs", len(node.inputs), len(node.outputs))
    inputs = [node.input(i) for i in range(len(node.inputs))]
    shapes = [t.shape for t in inputs]
    _forward_resources(node, inputs, cond)
    _forward_resources(node, inputs, body)
    cond_out = node.plan_subgraph(cond, shapes)
    if len(cond_out) != 1 or cond_out[0].type != BOOL or cond_out[0].size != 1:
        node.fail("condition subgraph %d must return one bool scalar", cond)
    body_out = node.plan_subgraph(body, shapes)
    if len(body_out) != len(inputs):
        node.fail("body subgraph %d returns %d tensors for %d loop variables", body, len(body_out),
                  len(inputs))
    _same_signature(node, "body output", body_out, inputs)
    for i, t in enumerate(inputs):
        if node.outputs[i].type != t.type:
            node.fail("output %d has type %s, input %d %s", i, node.outputs[i].type_name, i, t.type_name)
        node.set_output_shape(i, t.shape)
    node.ip = [cond, body]


@op("IF")
def if_then_else(node):
    then_sg, else_sg = int(node.opt("then_subgraph_index", 0)), int(node.opt("else_subgraph_index", 0))
    if not node.inputs:
        node.fail("needs a condition input")
    cond = node.input(0)
    node.check_type(cond, BOOL, "the condition")
    if cond.size < 1:
        node.fail("the condition is empty")
    args = [node.input(i) for i in range(1, len(node.inputs))]
    shapes = [t.shape for t in args]
    _forward_resources(node, args, then_sg)
    _forward_resources(node, args, else_sg)
    then_out = node.plan_subgraph(then_sg, shapes)
    else_out = node.plan_subgraph(else_sg, shapes)
    if len(then_out) != len(node.outputs) or len(else_out) != len(node.outputs):
        node.fail("branches return %d and %d tensors for %d outputs", len(then_out), len(else_out),
                  len(node.outputs))
    _same_signature(node, "else-branch output", else_out, then_out)
    for i, t in enumerate(then_out):
        if node.outputs[i].type != t.type:
            node.fail("output %d has type %s, the branch returns %s", i, node.outputs[i].type_name,
                      t.type_name)
        node.set_output_shape(i, t.shape)
    node.ip = [then_sg, else_sg]


@op("CALL_ONCE")
def call_once(node):
    init = int(node.opt("init_subgraph_index", 0))
    if node.inputs or node.outputs:
        node.fail("takes no inputs and no outputs")
    node.plan_subgraph(init, [])
    node.ip = [init]


@op("VAR_HANDLE")
def var_handle(node):
    node.check_counts(0, 0, 1)
    out = node.outputs[0]
    node.check_type(out, (RESOURCE, I32), "the handle")
    name = "%s/%s" % (node.opt("container", "") or "", node.opt("shared_name", "") or "")
    ids = node.planner.resource_ids
    ids.setdefault(name, len(ids))
    node.planner.resource_of[out.id] = name
    node.set_output_shape(0, ())
    node.ip = [ids[name]]


def _variable(node):
    handle = node.input(0)
    name = node.planner.resource_of.get(handle.id)
    if name is None:
        node.fail("the resource handle does not come from a VAR_HANDLE")
    return name


@op("ASSIGN_VARIABLE")
def assign_variable(node):
    node.check_counts(2, 2, 0)
    name = _variable(node)
    value = node.input(1)
    storage = node.planner.variable_storage.get(name)
    if storage is None:
        storage = node.planner.add_storage_tensor(value, name)
        node.planner.variable_storage[name] = storage
    elif storage.shape != value.shape or storage.type != value.type:
        node.fail("variable %r holds %s%s; assigning %s%s is not supported", name,
                  storage.type_name, list(storage.shape), value.type_name, list(value.shape))
    node.extra_inputs = [storage]


@op("READ_VARIABLE")
def read_variable(node):
    node.check_counts(1, 1, 1)
    name = _variable(node)
    storage = node.planner.variable_storage.get(name)
    if storage is None:
        node.fail("variable %r is read before any ASSIGN_VARIABLE gives it a shape", name)
    out = node.outputs[0]
    if out.type != storage.type:
        node.fail("reads %s from a variable of %s", out.type_name, storage.type_name)
    node.set_output_shape(0, storage.shape)
    node.extra_inputs = [storage]

