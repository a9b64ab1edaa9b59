/* dist.h: data-parallel training across processes (and machines) with MPI.
 *
 * `mpirun -np N aoi-train ...` starts N processes; each keeps a replica of
 * the model and trains on its share of every global batch, and the
 * gradients are summed across all of them after each backward pass so that
 * every replica takes the same optimiser step (seed 000: AlexNet on PCB
 * images over MPI on cheap CPU machines).
 *
 * This module is the whole of the communication: rank and size, an
 * all-reduce of a float (or double) buffer in place, a broadcast from rank
 * 0, standard input shared by rank 0 (mpirun hands it to rank 0 only), a
 * barrier, and the end. Built without MPI, or run without a launcher, it
 * is a group of one process where every collective is a no-op, so that the
 * rest of the code base calls it unconditionally and holds no #ifdef.
 *
 * Errors: a failed collective fills err; the group cannot recover from it,
 * and aoi_dist_free(d, failed) then ends every process (mpirun reports it).
 *
 * Ownership: aoi_dist_new() returns a handle the caller frees with
 * aoi_dist_free() once, at the end of main; buffers stay the caller's. */
#ifndef AOI_DIST_H
#define AOI_DIST_H

#include <stddef.h>

#include "base/error.h"
#include "nn/net.h"

typedef struct aoi_dist aoi_dist;

enum aoi_dist_op { AOI_DIST_SUM, AOI_DIST_MAX };

/* What the communication has cost so far (for the report at the end). */
typedef struct aoi_dist_stats {
	long allreduces;       /* calls of aoi_dist_allreduce_float/double */
	double allreduce_bytes; /* payload summed over those calls, per process */
	double allreduce_seconds;
	double bcast_bytes;
	long grad_steps;       /* aoi_dist_reduce_grads() calls: training steps */
	double grad_bytes, grad_seconds;
	double seconds;        /* since aoi_dist_new() */
} aoi_dist_stats;

/* Join the process group when this process was started by an MPI launcher
 * (mpirun, srun, mpiexec); otherwise a group of one. Fails when the
 * launcher started several processes and MPI is not built in, since they
 * would then train N separate models into the same files. Call once,
 * before threads are started. */
aoi_dist *aoi_dist_new(aoi_error *err);
/* Leave the group. failed != 0 after an error: the other processes may be
 * blocked in a collective, so the whole job is ended with that status
 * instead of finalising (this call then does not return when size > 1). */
void aoi_dist_free(aoi_dist *d, int failed);

int aoi_dist_rank(const aoi_dist *d);       /* 0 .. size-1; 0 for NULL */
int aoi_dist_size(const aoi_dist *d);       /* 1 for NULL */
/* Processes of the group on this machine (to divide the cores). */
int aoi_dist_local_size(const aoi_dist *d);
/* "mpi" or "none": what the build has. */
const char *aoi_dist_backend(void);

/* buf[0..n-1] <- the element-wise sum (or max) of every process's buf. */
int aoi_dist_allreduce_float(aoi_dist *d, float *buf, size_t n, enum aoi_dist_op op,
			     aoi_error *err);
int aoi_dist_allreduce_double(aoi_dist *d, double *buf, size_t n, enum aoi_dist_op op,
			      aoi_error *err);
/* buf on every process <- buf on rank 0. */
int aoi_dist_bcast(aoi_dist *d, void *buf, size_t bytes, aoi_error *err);
int aoi_dist_barrier(aoi_dist *d, aoi_error *err);

/* Rank 0 reads all of standard input and sends it to the others; every
 * process then reads it again from the start on file descriptor 0 (a
 * memory file), so that a reader of "-" works the same on every rank.
 * Does nothing in a group of one. Call before anything reads stdin. */
int aoi_dist_share_stdin(aoi_dist *d, aoi_error *err);

void aoi_dist_get_stats(const aoi_dist *d, aoi_dist_stats *s);

/* The row range of this process in a global batch of `batch` rows: rows
 * rank, rank + size, ... (so that the union over processes is the batch a
 * single process would take). Returns the local row count, 0 when the
 * batch does not divide by the size (every replica must see as many rows
 * for the mean gradients to combine exactly). */
int aoi_dist_local_rows(const aoi_dist *d, int batch);
/* Global row of local row r. */
int aoi_dist_global_row(const aoi_dist *d, int r);

/* Threads per process: `requested` when above 0, else the cores this
 * process may use divided among the group's processes on this machine
 * (at least 1), or 0 (all cores) when it is alone there. */
int aoi_dist_threads(const aoi_dist *d, int requested);

/* The trainer's side (dist_net.c): one model, N replicas.
 *
 * Gradients: each replica takes the mean loss over its rows times
 * 1 / size (the caller scales the loss gradient before backward, which is
 * cheaper than scaling every parameter gradient), and the all-reduced sum
 * of those is the single-process mean gradient over the global batch.
 *
 * Batch norm: statistics per replica, over its own rows (PyTorch DDP
 * without SyncBatchNorm); the running mean and variance are averaged over
 * the replicas at the end of each epoch, so that validation and the saved
 * model see one set. With batch norm, training with N processes is
 * therefore close to, not equal to, one process with the same global
 * batch; without it the weights agree to float rounding. */

/* Parameters and batch-norm state of rank 0 on every rank (at the start:
 * --init, --resume and the seed then agree by construction). */
int aoi_dist_sync_net(aoi_dist *d, aoi_net *net, aoi_error *err);
/* grad[0..n-1] *= 1 / size: the loss gradient of this replica's rows. */
void aoi_dist_scale_loss_grad(const aoi_dist *d, float *grad, size_t n);
/* Every replica's parameter gradients summed, in place, in one vector. */
int aoi_dist_reduce_grads(aoi_dist *d, aoi_net *net, aoi_error *err);
/* Batch-norm running statistics <- their mean over the replicas. */
int aoi_dist_average_state(aoi_dist *d, aoi_net *net, aoi_error *err);
/* After a step: *loss <- the mean of the replicas' losses, and *halt <- 1
 * when any process was asked to stop (stop_asked), so that all stop after
 * the same step. A signal reaching one process only between two steps is
 * seen by all at the next one. */
int aoi_dist_agree(aoi_dist *d, double *loss, int stop_asked, int *halt, aoi_error *err);
/* Fails when the replicas' parameters are not bit-identical any more
 * (a checksum compared across ranks): a bug, never expected. */
int aoi_dist_check_replicas(aoi_dist *d, aoi_net *net, aoi_error *err);

/* One line for the end of a run: "2 processes x 1 thread: 9.4 MB of
 * gradients all-reduced per step, 12 ms per step in all-reduce (3% of the
 * run); peak memory per process 210 MiB (largest of 2)". A collective:
 * every rank calls it (the peak memory is gathered). */
int aoi_dist_summary(aoi_dist *d, char *buf, size_t size, aoi_error *err);

#endif
