/* dist_impl.h: what lib/dist.c asks of the MPI backend (lib/dist_mpi.c).
 * Only dist_mpi.c sees <mpi.h>; built without MPI it answers that it is
 * not there. Private to lib/dist*.c. */
#ifndef AOI_DIST_IMPL_H
#define AOI_DIST_IMPL_H

#include <stddef.h>

#include "base/error.h"
#include "train/dist.h"

typedef struct aoi_dist_mpi aoi_dist_mpi;

enum aoi_dist_type { AOI_DIST_FLOAT, AOI_DIST_DOUBLE };

/* The counters of d, for dist_net.c. */
aoi_dist_stats *aoi_dist_counters(aoi_dist *d);

int aoi_dist_mpi_built(void);
/* MPI_Init_thread (funnelled: only the main thread communicates) and a
 * private communicator; rank, size and the processes on this node. */
aoi_dist_mpi *aoi_dist_mpi_new(int *rank, int *size, int *local_size, aoi_error *err);
void aoi_dist_mpi_finalize(aoi_dist_mpi *m);
void aoi_dist_mpi_abort(aoi_dist_mpi *m, int status);
int aoi_dist_mpi_allreduce(aoi_dist_mpi *m, void *buf, size_t n, enum aoi_dist_type type,
			   enum aoi_dist_op op, aoi_error *err);
int aoi_dist_mpi_bcast(aoi_dist_mpi *m, void *buf, size_t bytes, aoi_error *err);
int aoi_dist_mpi_barrier(aoi_dist_mpi *m, aoi_error *err);

#endif
