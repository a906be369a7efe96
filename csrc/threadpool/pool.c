/* A job is published by bumping the job id held in the high half of `state`; tasks are claimed
 * by compare-and-swap on its low half (the next task index), so a claim can never land in a
 * job other than the one the claimer saw. The caller takes part and waits only for tasks that
 * were claimed, never for a worker that has not woken yet: on a busy machine a late worker
 * simply finds nothing left to do, and the op costs what one thread would.
 *
 * Workers wait by spinning briefly, then sleeping on a condition variable: an invoke runs many
 * short parallel ops back to back, and a worker woken through the kernel for each would come
 * too late to help. A worker sleeps after ~100 us without work, so an idle pool costs nothing. */
#include "threadpool/pool.h"

#include <pthread.h>
#include <stdlib.h>

#define SPIN_ROUNDS 20000

struct tr_pool {
  int32_t num_threads;
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t wake;     /* a new job, or shutdown */
  pthread_cond_t finished; /* the last task of the job is done */
  uint64_t state;          /* atomic: job id << 32 | next task */
  int32_t done;            /* atomic: tasks of the current job completed */
  int32_t shutting_down;   /* atomic */
  /* the current job; rewritten only when every claimed task of the previous one is done */
  tr_task_fn fn;
  void *ctx;
  int32_t num_tasks;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ volatile("yield");
#endif
}

static inline uint32_t job_of(uint64_t state) { return (uint32_t)(state >> 32); }

/* Claims and runs tasks of job `job` until none are left. */
static void run_tasks(tr_pool *pool, uint32_t job) {
  uint64_t s = __atomic_load_n(&pool->state, __ATOMIC_ACQUIRE);
  for (;;) {
    if (job_of(s) != job || (uint32_t)s >= (uint32_t)pool->num_tasks) return;
    if (!__atomic_compare_exchange_n(&pool->state, &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue; /* s now holds the current state */
    pool->fn(pool->ctx, (int32_t)(uint32_t)s);
    if (__atomic_add_fetch(&pool->done, 1, __ATOMIC_ACQ_REL) == pool->num_tasks) {
      pthread_mutex_lock(&pool->mu);
      pthread_cond_signal(&pool->finished);
      pthread_mutex_unlock(&pool->mu);
    }
    s = __atomic_load_n(&pool->state, __ATOMIC_ACQUIRE);
  }
}

static int has_news(tr_pool *pool, uint32_t seen) {
  return job_of(__atomic_load_n(&pool->state, __ATOMIC_ACQUIRE)) != seen ||
         __atomic_load_n(&pool->shutting_down, __ATOMIC_ACQUIRE);
}

static void *worker_main(void *arg) {
  tr_pool *pool = (tr_pool *)arg;
  uint32_t seen = 0;
  for (;;) {
    for (int i = 0; i < SPIN_ROUNDS && !has_news(pool, seen); i++) cpu_relax();
    if (!has_news(pool, seen)) {
      pthread_mutex_lock(&pool->mu);
      while (!has_news(pool, seen)) pthread_cond_wait(&pool->wake, &pool->mu);
      pthread_mutex_unlock(&pool->mu);
    }
    if (__atomic_load_n(&pool->shutting_down, __ATOMIC_ACQUIRE)) break;
    seen = job_of(__atomic_load_n(&pool->state, __ATOMIC_ACQUIRE));
    run_tasks(pool, seen);
  }
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
  pthread_cond_init(&pool->finished, NULL);
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
  __atomic_store_n(&pool->shutting_down, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mu);
  for (int32_t i = 0; i < pool->num_threads - 1; i++) pthread_join(pool->workers[i], NULL);
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->wake);
  pthread_cond_destroy(&pool->finished);
  free(pool->workers);
  free(pool);
}

int32_t tr_pool_size(const tr_pool *pool) { return pool ? pool->num_threads : 1; }

void tr_pool_run(tr_pool *pool, int32_t num_tasks, tr_task_fn fn, void *ctx) {
  if (!pool || num_tasks <= 1) {
    for (int32_t t = 0; t < num_tasks; t++) fn(ctx, t);
    return;
  }
  /* Every claimed task of the previous job is done, and no new claim can succeed before the
   * job id below changes, so the job can be rewritten in place. */
  pool->fn = fn;
  pool->ctx = ctx;
  pool->num_tasks = num_tasks;
  __atomic_store_n(&pool->done, 0, __ATOMIC_RELAXED);
  uint32_t job = job_of(__atomic_load_n(&pool->state, __ATOMIC_RELAXED)) + 1;
  pthread_mutex_lock(&pool->mu);
  __atomic_store_n(&pool->state, (uint64_t)job << 32, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mu);
  run_tasks(pool, job);
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    if (__atomic_load_n(&pool->done, __ATOMIC_ACQUIRE) == num_tasks) return;
    cpu_relax();
  }
  pthread_mutex_lock(&pool->mu);
  while (__atomic_load_n(&pool->done, __ATOMIC_ACQUIRE) != num_tasks) pthread_cond_wait(&pool->finished, &pool->mu);
  pthread_mutex_unlock(&pool->mu);
}
