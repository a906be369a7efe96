/* A persistent pool of worker threads. The caller of tr_pool_run takes part in the work, so
 * a pool of n threads starts n - 1 workers; a NULL pool runs everything on the caller. */
#ifndef TFLITE_RT_POOL_H
#define TFLITE_RT_POOL_H

#include <stdint.h>

typedef struct tr_pool tr_pool;
typedef void (*tr_task_fn)(void *ctx, int32_t task);

tr_pool *tr_pool_create(int32_t num_threads);
void tr_pool_destroy(tr_pool *pool);
int32_t tr_pool_size(const tr_pool *pool);
/* Runs fn(ctx, t) for t in [0, num_tasks) across the pool and returns when all are done. */
void tr_pool_run(tr_pool *pool, int32_t num_tasks, tr_task_fn fn, void *ctx);

#endif
