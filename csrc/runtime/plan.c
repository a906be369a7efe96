/* The executor: a tensor table, and per subgraph a list of prepared nodes run in order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "runtime/node.h"
#include "runtime/op_table.h"
#include "threadpool/pool.h"

/* A mapping that prepared node memory (tr_node_alloc_packed) is carved from. */
typedef struct tr_packed_region {
  struct tr_packed_region *next;
  char *base;
  size_t size, used;
} tr_packed_region;

typedef struct {
  int32_t num_nodes, capacity;
  tr_node *nodes;
  int64_t *node_ns;
  int64_t *node_count;
  int32_t num_inputs, num_outputs;
  int32_t *inputs, *outputs;
  int32_t running; /* guards against a subgraph re-entering itself */
} tr_subgraph;

struct tr_plan {
  int32_t num_tensors;
  tr_tensor *tensors;
  int32_t num_subgraphs;
  tr_subgraph *subgraphs;
  tr_pool *pool;
  int32_t profiling;
  tr_packed_region *regions; /* the newest first */
  void *blocks;              /* smaller prepared memory: malloc'd blocks, each linking the next */
  char error[1024];
};

size_t tr_type_size(int32_t type) {
  switch (type) {
    case TR_FLOAT32: case TR_INT32: case TR_UINT32: return 4;
    case TR_FLOAT16: case TR_INT16: case TR_UINT16: return 2;
    case TR_UINT8: case TR_INT8: case TR_BOOL: case TR_INT4: return 1;
    case TR_INT64: case TR_UINT64: case TR_FLOAT64: case TR_COMPLEX64: return 8;
    case TR_COMPLEX128: return 16;
    case TR_RESOURCE: case TR_VARIANT: return 4;
    default: return 0;
  }
}

static tr_status plan_fail(tr_plan *plan, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(plan->error, sizeof(plan->error), fmt, ap);
  va_end(ap);
  return TR_ERROR;
}

tr_status tr_fail(tr_node *node, const char *fmt, ...) {
  tr_plan *plan = node->plan;
  int n = snprintf(plan->error, sizeof(plan->error), "%s (subgraph %d, node %d): ",
                   node->op ? node->op->name : "?", node->subgraph, node->index);
  if (n < 0 || (size_t)n >= sizeof(plan->error)) return TR_ERROR;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(plan->error + n, sizeof(plan->error) - (size_t)n, fmt, ap);
  va_end(ap);
  return TR_ERROR;
}

const char *tr_plan_error(const tr_plan *plan) { return plan->error; }

/* Packed weights and indirection buffers live as long as the plan. Large ones (a fresh mapping
 * each, from malloc, first-touched a 4 KiB page fault at a time: most of what packing cost) are
 * carved from a few large mappings that ask for transparent huge pages, which fault in 2 MiB at
 * a time. Small ones stay with malloc, which recycles memory the process already holds. Only
 * the pages written become resident. Sanitizer builds malloc everything, so out-of-bounds
 * accesses stay visible. */
#if defined(__SANITIZE_ADDRESS__)
#define TR_PACKED_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR_PACKED_MALLOC 1
#endif
#endif
#if !defined(TR_PACKED_MALLOC) && !defined(MAP_ANONYMOUS)
#define TR_PACKED_MALLOC 1
#endif

#define TR_HUGE_PAGE ((size_t)2 << 20)
#define TR_PACKED_SMALL ((size_t)128 << 10) /* below this, malloc (glibc's mmap threshold) */
#define TR_PACKED_REGION ((size_t)32 << 20)

#if !defined(TR_PACKED_MALLOC)
/* One released standard region is kept for the next plan: loading a model again, or another
 * allocate_tensors, then packs into memory that is already faulted in instead of paying the
 * faults and the kernel's zeroing again. At most one region (what its last plan touched of
 * TR_PACKED_REGION bytes) stays mapped once every plan is gone. Its first TR_SPARE_RESIDENT
 * bytes stay as they are; the pages past them are given to the kernel to take back (MADV_FREE)
 * whenever it needs memory more than we do. Writing to a page given back that way costs about
 * as much as the packing of it (~1 us per 4 KiB page, the kernel marking it in use again), so
 * the pages of a model of usual size are kept. Packers write every byte of what they are given,
 * so old contents, or pages that come back zeroed, do not matter. */
#define TR_SPARE_RESIDENT ((size_t)8 << 20)
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static tr_packed_region *spare_region;
#endif

#if !defined(TR_PACKED_MALLOC)
static void region_release(tr_packed_region *r) {
  if (r->size == TR_PACKED_REGION) {
#if defined(MADV_FREE)
    /* before the region is published as the spare: another plan may take it at once */
    if (r->used > TR_SPARE_RESIDENT)
      madvise(r->base + TR_SPARE_RESIDENT, r->used - TR_SPARE_RESIDENT, MADV_FREE);
#endif
    pthread_mutex_lock(&spare_lock);
    const int keep = spare_region == NULL;
    if (keep) {
      r->next = NULL;
      r->used = 0;
      spare_region = r;
    }
    pthread_mutex_unlock(&spare_lock);
    if (keep) return;
  }
  munmap(r->base, r->size);
  free(r);
}

static tr_packed_region *region_create(size_t size) {
  if (size == TR_PACKED_REGION) {
    pthread_mutex_lock(&spare_lock);
    tr_packed_region *r = spare_region;
    spare_region = NULL;
    pthread_mutex_unlock(&spare_lock);
    if (r) return r;
  }
  tr_packed_region *r = (tr_packed_region *)calloc(1, sizeof(tr_packed_region));
  if (!r) return NULL;
  /* over-map by a huge page and trim, so the region starts on a huge page boundary */
  char *p = (char *)mmap(NULL, size + TR_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == (char *)MAP_FAILED) return free(r), NULL;
  const size_t head = (TR_HUGE_PAGE - (uintptr_t)p % TR_HUGE_PAGE) % TR_HUGE_PAGE;
  if (head) munmap(p, head);
  munmap(p + head + size, TR_HUGE_PAGE - head);
  r->base = p + head;
#if defined(MADV_HUGEPAGE)
  /* past the first 2 MiB only: a plan with little large data then never holds a mostly unused
   * huge page, even for a moment */
  if (size > TR_HUGE_PAGE) madvise(r->base + TR_HUGE_PAGE, size - TR_HUGE_PAGE, MADV_HUGEPAGE);
#endif
  r->size = size;
  return r;
}
#endif

void *tr_node_alloc_packed(tr_node *node, size_t bytes) {
  tr_plan *plan = node->plan;
  const size_t need = bytes ? (bytes + 63) / 64 * 64 : 64;
  if (need < bytes || need > SIZE_MAX / 2) return NULL;
#if !defined(TR_PACKED_MALLOC)
  if (need >= TR_PACKED_SMALL) {
    tr_packed_region *r = plan->regions;
    if (!r || r->size - r->used < need) {
      const size_t size =
          need > TR_PACKED_REGION ? (need + TR_HUGE_PAGE - 1) / TR_HUGE_PAGE * TR_HUGE_PAGE : TR_PACKED_REGION;
      r = region_create(size);
      if (!r) return NULL;
      r->next = plan->regions;
      plan->regions = r;
    }
    void *p = r->base + r->used;
    r->used += need;
    return p;
  }
#endif
  /* a 64-byte header holds the link to the plan's previous block */
  void *block = NULL;
  if (posix_memalign(&block, 64, need + 64) != 0) return NULL;
  *(void **)block = plan->blocks;
  plan->blocks = block;
  return (char *)block + 64;
}

/* Every declared node is in. */
static int plan_prepared(const tr_plan *plan) {
  for (int32_t s = 0; s < plan->num_subgraphs; s++) {
    const tr_subgraph *sg = &plan->subgraphs[s];
    if (!sg->nodes || sg->num_nodes < sg->capacity) return 0;
  }
  return 1;
}

/* Once the last node is prepared, the unused end of each region's last huge page goes back to
 * the system: a huge page is resident as a whole, so it would otherwise hold up to 2 MiB that
 * nothing will use. */
static void trim_regions(tr_plan *plan) {
#if !defined(TR_PACKED_MALLOC) && defined(MADV_DONTNEED)
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return;
  for (tr_packed_region *r = plan->regions; r; r = r->next) {
    const size_t start = (r->used + (size_t)page - 1) / (size_t)page * (size_t)page;
    size_t end = (r->used + TR_HUGE_PAGE - 1) / TR_HUGE_PAGE * TR_HUGE_PAGE;
    if (end > r->size) end = r->size;
    if (end > start) madvise(r->base + start, end - start, MADV_DONTNEED);
  }
#else
  (void)plan;
#endif
}

tr_plan *tr_plan_create(int32_t num_tensors, int32_t num_subgraphs, int32_t num_threads) {
  if (num_tensors < 0 || num_subgraphs < 1) return NULL;
  tr_plan *plan = (tr_plan *)calloc(1, sizeof(tr_plan));
  if (!plan) return NULL;
  plan->tensors = (tr_tensor *)calloc((size_t)num_tensors + 1, sizeof(tr_tensor));
  plan->subgraphs = (tr_subgraph *)calloc((size_t)num_subgraphs, sizeof(tr_subgraph));
  if (!plan->tensors || !plan->subgraphs) {
    tr_plan_destroy(plan);
    return NULL;
  }
  plan->num_tensors = num_tensors;
  plan->num_subgraphs = num_subgraphs;
  plan->pool = tr_pool_create(num_threads);
  return plan;
}

static void release_node(tr_node *node) {
  if (node->op && node->op->release) node->op->release(node);
  else free(node->state);
  free(node->inputs); /* the one block that holds outputs, ip and fp too */
}

void tr_plan_destroy(tr_plan *plan) {
  if (!plan) return;
  if (plan->subgraphs) {
    for (int32_t s = 0; s < plan->num_subgraphs; s++) {
      tr_subgraph *sg = &plan->subgraphs[s];
      for (int32_t i = 0; i < sg->num_nodes; i++) release_node(&sg->nodes[i]);
      free(sg->nodes);
      free(sg->node_ns);
      free(sg->node_count);
      free(sg->inputs);
      free(sg->outputs);
    }
  }
  tr_pool_destroy(plan->pool);
#if !defined(TR_PACKED_MALLOC)
  while (plan->regions) {
    tr_packed_region *next = plan->regions->next;
    region_release(plan->regions);
    plan->regions = next;
  }
#endif
  while (plan->blocks) {
    void *next = *(void **)plan->blocks;
    free(plan->blocks);
    plan->blocks = next;
  }
  free(plan->subgraphs);
  free(plan->tensors);
  free(plan);
}

tr_status tr_plan_set_tensor(tr_plan *plan, int32_t id, int32_t type, int32_t ndim,
                             const int32_t *dims, void *data, int64_t nbytes, float scale,
                             int32_t zero_point, int32_t nquant, int32_t quant_axis,
                             const float *scales, const int64_t *zero_points) {
  if (id < 0 || id >= plan->num_tensors) return plan_fail(plan, "tensor id %d out of range", id);
  if (ndim < 0 || ndim > TR_MAX_DIMS)
    return plan_fail(plan, "tensor %d has rank %d; at most %d is supported", id, ndim, TR_MAX_DIMS);
  if (tr_type_size(type) == 0 && type != TR_STRING)
    return plan_fail(plan, "tensor %d has unsupported type code %d", id, type);
  tr_tensor *t = &plan->tensors[id];
  memset(t, 0, sizeof(*t));
  t->type = type;
  t->ndim = ndim;
  int64_t count = 1;
  for (int32_t i = 0; i < ndim; i++) {
    if (dims[i] < 0) return plan_fail(plan, "tensor %d has negative dimension %d", id, dims[i]);
    t->dims[i] = dims[i];
    count *= dims[i];
  }
  if (type != TR_STRING && data && nbytes < count * (int64_t)tr_type_size(type))
    return plan_fail(plan, "tensor %d: %lld bytes given for %lld elements", id, (long long)nbytes,
                     (long long)count);
  t->data = data;
  t->nbytes = nbytes;
  t->scale = scale;
  t->zero_point = zero_point;
  t->nquant = nquant;
  t->quant_axis = quant_axis;
  t->scales = scales;
  t->zero_points = zero_points;
  return TR_OK;
}

static tr_status copy_ids(tr_plan *plan, int32_t n, const int32_t *src, int32_t **dst) {
  *dst = (int32_t *)calloc((size_t)(n > 0 ? n : 1), sizeof(int32_t));
  if (!*dst) return plan_fail(plan, "out of memory");
  for (int32_t i = 0; i < n; i++) {
    if (src[i] < 0 || src[i] >= plan->num_tensors)
      return plan_fail(plan, "subgraph tensor id %d out of range", src[i]);
    (*dst)[i] = src[i];
  }
  return TR_OK;
}

tr_status tr_plan_set_subgraph(tr_plan *plan, int32_t subgraph, int32_t num_nodes,
                               int32_t num_inputs, const int32_t *inputs, int32_t num_outputs,
                               const int32_t *outputs) {
  if (subgraph < 0 || subgraph >= plan->num_subgraphs)
    return plan_fail(plan, "subgraph %d out of range", subgraph);
  tr_subgraph *sg = &plan->subgraphs[subgraph];
  if (sg->nodes) return plan_fail(plan, "subgraph %d declared twice", subgraph);
  if (num_nodes < 0 || num_inputs < 0 || num_outputs < 0)
    return plan_fail(plan, "subgraph %d: negative count", subgraph);
  size_t cap = (size_t)(num_nodes > 0 ? num_nodes : 1);
  sg->nodes = (tr_node *)calloc(cap, sizeof(tr_node));
  sg->node_ns = (int64_t *)calloc(cap, sizeof(int64_t));
  sg->node_count = (int64_t *)calloc(cap, sizeof(int64_t));
  if (!sg->nodes || !sg->node_ns || !sg->node_count) return plan_fail(plan, "out of memory");
  sg->capacity = num_nodes;
  sg->num_inputs = num_inputs;
  sg->num_outputs = num_outputs;
  if (copy_ids(plan, num_inputs, inputs, &sg->inputs) != TR_OK) return TR_ERROR;
  return copy_ids(plan, num_outputs, outputs, &sg->outputs);
}

const tr_node *tr_node_producer(const tr_node *node, const tr_tensor *t) {
  if (!node->plan || node->subgraph < 0 || node->subgraph >= node->plan->num_subgraphs) return NULL;
  const tr_subgraph *sg = &node->plan->subgraphs[node->subgraph];
  for (int32_t i = node->index - 1; i >= 0 && i < sg->num_nodes; i--) {
    const tr_node *p = &sg->nodes[i];
    for (int32_t o = 0; o < p->noutputs; o++)
      if (p->outputs[o] == t) return p;
  }
  return NULL;
}

tr_status tr_plan_add_node(tr_plan *plan, int32_t subgraph, int32_t builtin_code,
                           int32_t num_inputs, const int32_t *inputs, int32_t num_outputs,
                           const int32_t *outputs, int32_t nip, const int32_t *ip, int32_t nfp,
                           const float *fp) {
  if (subgraph < 0 || subgraph >= plan->num_subgraphs)
    return plan_fail(plan, "subgraph %d out of range", subgraph);
  tr_subgraph *sg = &plan->subgraphs[subgraph];
  if (sg->num_nodes >= sg->capacity) return plan_fail(plan, "subgraph %d: too many nodes", subgraph);
  const tr_op *op = tr_builtin_op(builtin_code);
  if (!op) return plan_fail(plan, "no kernel for builtin operator code %d", builtin_code);
  if (num_inputs < 0 || num_outputs < 0 || nip < 0 || nfp < 0)
    return plan_fail(plan, "negative count for node %d", sg->num_nodes);
  tr_node *node = &sg->nodes[sg->num_nodes];
  memset(node, 0, sizeof(*node));
  node->op = op;
  node->builtin_code = builtin_code;
  node->index = sg->num_nodes;
  node->subgraph = subgraph;
  node->plan = plan;
  node->ninputs = num_inputs;
  node->noutputs = num_outputs;
  node->nip = nip;
  node->nfp = nfp;
  /* the four arrays in one block (a malloc each was a measurable part of small ops' prepare),
   * each with one spare zeroed entry as before */
  const size_t tensors = (size_t)num_inputs + 1 + (size_t)num_outputs + 1;
  char *block = (char *)calloc(1, tensors * sizeof(tr_tensor *) + ((size_t)nip + 1) * sizeof(int32_t) +
                                      ((size_t)nfp + 1) * sizeof(float));
  sg->num_nodes++; /* from here on the node is released with the plan */
  if (!block) return plan_fail(plan, "out of memory");
  node->inputs = (tr_tensor **)block;
  node->outputs = node->inputs + num_inputs + 1;
  node->ip = (int32_t *)(block + tensors * sizeof(tr_tensor *));
  node->fp = (float *)(node->ip + nip + 1);
  for (int32_t i = 0; i < num_inputs; i++) {
    if (inputs[i] == -1) continue;
    if (inputs[i] < 0 || inputs[i] >= plan->num_tensors)
      return tr_fail(node, "input tensor id %d out of range", inputs[i]);
    node->inputs[i] = &plan->tensors[inputs[i]];
  }
  for (int32_t i = 0; i < num_outputs; i++) {
    if (outputs[i] < 0 || outputs[i] >= plan->num_tensors)
      return tr_fail(node, "output tensor id %d out of range", outputs[i]);
    node->outputs[i] = &plan->tensors[outputs[i]];
  }
  if (nip) memcpy(node->ip, ip, (size_t)nip * sizeof(int32_t));
  if (nfp) memcpy(node->fp, fp, (size_t)nfp * sizeof(float));
  const tr_status st = op->prepare ? op->prepare(node) : TR_OK;
  if (st == TR_OK && plan_prepared(plan)) trim_regions(plan);
  return st;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

tr_status tr_plan_invoke(tr_plan *plan, int32_t subgraph) {
  if (subgraph < 0 || subgraph >= plan->num_subgraphs)
    return plan_fail(plan, "subgraph %d out of range", subgraph);
  tr_subgraph *sg = &plan->subgraphs[subgraph];
  if (sg->num_nodes != sg->capacity)
    return plan_fail(plan, "subgraph %d is not fully prepared", subgraph);
  if (sg->running) return plan_fail(plan, "subgraph %d calls itself", subgraph);
  sg->running = 1;
  plan->error[0] = '\0';
  tr_status status = TR_OK;
  for (int32_t i = 0; i < sg->num_nodes && status == TR_OK; i++) {
    tr_node *node = &sg->nodes[i];
    if (plan->profiling) {
      int64_t t0 = now_ns();
      status = node->op->eval(node);
      sg->node_ns[i] += now_ns() - t0;
      sg->node_count[i]++;
    } else {
      status = node->op->eval(node);
    }
  }
  sg->running = 0;
  return status;
}

tr_status tr_run_subgraph(tr_node *node, int32_t subgraph) {
  return tr_plan_invoke(node->plan, subgraph);
}

static tr_subgraph *subgraph_of(tr_node *node, int32_t subgraph) {
  if (subgraph < 0 || subgraph >= node->plan->num_subgraphs) return NULL;
  return &node->plan->subgraphs[subgraph];
}

int32_t tr_subgraph_num_inputs(tr_node *node, int32_t subgraph) {
  tr_subgraph *sg = subgraph_of(node, subgraph);
  return sg ? sg->num_inputs : -1;
}

int32_t tr_subgraph_num_outputs(tr_node *node, int32_t subgraph) {
  tr_subgraph *sg = subgraph_of(node, subgraph);
  return sg ? sg->num_outputs : -1;
}

tr_tensor *tr_subgraph_input(tr_node *node, int32_t subgraph, int32_t i) {
  tr_subgraph *sg = subgraph_of(node, subgraph);
  if (!sg || i < 0 || i >= sg->num_inputs) return NULL;
  return &node->plan->tensors[sg->inputs[i]];
}

tr_tensor *tr_subgraph_output(tr_node *node, int32_t subgraph, int32_t i) {
  tr_subgraph *sg = subgraph_of(node, subgraph);
  if (!sg || i < 0 || i >= sg->num_outputs) return NULL;
  return &node->plan->tensors[sg->outputs[i]];
}

typedef struct {
  tr_range_fn fn;
  void *ctx;
  int64_t n;
  int32_t chunks;
} range_job;

static void run_range_chunk(void *arg, int32_t task) {
  range_job *job = (range_job *)arg;
  int64_t begin = job->n * task / job->chunks;
  int64_t end = job->n * (task + 1) / job->chunks;
  if (end > begin) job->fn(job->ctx, begin, end);
}

void tr_parallel_for(tr_node *node, int64_t n, tr_range_fn fn, void *ctx) {
  if (n <= 0) return;
  int32_t threads = tr_pool_size(node->plan->pool);
  if (threads <= 1 || n == 1) {
    fn(ctx, 0, n);
    return;
  }
  range_job job = {fn, ctx, n, (int32_t)(n < threads ? n : threads)};
  tr_pool_run(node->plan->pool, job.chunks, run_range_chunk, &job);
}

int32_t tr_num_threads(const tr_node *node) { return tr_pool_size(node->plan->pool); }

void tr_plan_set_profiling(tr_plan *plan, int32_t enabled) {
  plan->profiling = enabled;
  for (int32_t s = 0; s < plan->num_subgraphs; s++) {
    tr_subgraph *sg = &plan->subgraphs[s];
    for (int32_t i = 0; i < sg->capacity; i++) {
      sg->node_ns[i] = 0;
      sg->node_count[i] = 0;
    }
  }
}

int64_t tr_plan_node_time_ns(const tr_plan *plan, int32_t subgraph, int32_t node) {
  if (subgraph < 0 || subgraph >= plan->num_subgraphs) return -1;
  const tr_subgraph *sg = &plan->subgraphs[subgraph];
  return node >= 0 && node < sg->num_nodes ? sg->node_ns[node] : -1;
}

int64_t tr_plan_node_count(const tr_plan *plan, int32_t subgraph, int32_t node) {
  if (subgraph < 0 || subgraph >= plan->num_subgraphs) return -1;
  const tr_subgraph *sg = &plan->subgraphs[subgraph];
  return node >= 0 && node < sg->num_nodes ? sg->node_count[node] : -1;
}
