/* Workers sleep on a condition variable between jobs; a job is published by bumping a
 * generation counter, and tasks are claimed with an atomic counter so uneven tasks balance. */
#include "threadpool/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct tr_pool {
  int32_t num_threads;
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_cond_t done;
  uint64_t generation;
  int32_t shutting_down;
  /* the current job */
  tr_task_fn fn;
  void *ctx;
  int32_t num_tasks;
  int32_t next_task;     /* claimed under atomics */
  int32_t busy_workers;  /* workers still inside the current job */
};

static void run_tasks(tr_pool *pool) {
  for (;;) {
    int32_t t = __atomic_fetch_add(&pool->next_task, 1, __ATOMIC_ACQ_REL);
    if (t >= pool->num_tasks) return;
    pool->fn(pool->ctx, t);
  }
}

static void *worker_main(void *arg) {
  tr_pool *pool = (tr_pool *)arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    while (pool->generation == seen && !pool->shutting_down) pthread_cond_wait(&pool->wake, &pool->mu);
    if (pool->shutting_down) break;
    seen = pool->generation;
    pthread_mutex_unlock(&pool->mu);
    run_tasks(pool);
    pthread_mutex_lock(&pool->mu);
    if (--pool->busy_workers == 0) pthread_cond_signal(&pool->done);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

tr_pool *tr_pool_create(int32_t num_threads) {
  if (num_threads <= 1) return NULL;
  tr_pool *pool = (tr_pool *)calloc(1, sizeof(tr_pool));
  if (!pool) return NULL;
  pool->workers = (pthread_t *)calloc((size_t)num_threads - 1, sizeof(pthread_t));
  if (!pool->workers) {
    free(pool);
    return NULL;
  }
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pthread_cond_init(&pool->done, NULL);
  pool->num_threads = 1;
  for (int32_t i = 0; i < num_threads - 1; i++) {
    if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) break;
    pool->num_threads++;
  }
  return pool;
}

void tr_pool_destroy(tr_pool *pool) {
  if (!pool) return;
  pthread_mutex_lock(&pool->mu);
  pool->shutting_down = 1;
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mu);
  for (int32_t i = 0; i < pool->num_threads - 1; i++) pthread_join(pool->workers[i], NULL);
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->wake);
  pthread_cond_destroy(&pool->done);
  free(pool->workers);
  free(pool);
}

int32_t tr_pool_size(const tr_pool *pool) { return pool ? pool->num_threads : 1; }

void tr_pool_run(tr_pool *pool, int32_t num_tasks, tr_task_fn fn, void *ctx) {
  if (!pool || num_tasks <= 1) {
    for (int32_t t = 0; t < num_tasks; t++) fn(ctx, t);
    return;
  }
  pthread_mutex_lock(&pool->mu);
  pool->fn = fn;
  pool->ctx = ctx;
  pool->num_tasks = num_tasks;
  pool->next_task = 0;
  pool->busy_workers = pool->num_threads - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mu);
  run_tasks(pool);
  pthread_mutex_lock(&pool->mu);
  while (pool->busy_workers > 0) pthread_cond_wait(&pool->done, &pool->mu);
  pthread_mutex_unlock(&pool->mu);
}
